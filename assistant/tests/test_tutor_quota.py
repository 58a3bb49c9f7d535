"""The tutor's daily quota: per tier, taken atomically (never one over, however many ask at
once), and counted per calendar day of the learner's own time zone.

The races run on PostgreSQL with real threads, each on its own connection and really
committing (`transaction=True`), released together by a barrier; the API races go through
the whole stack down to the loopback fake provider, which counts the calls that got through.
"""

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.test import Client

from accounts.tests.factories import UserFactory
from assistant.models import Message, TutorQuota, TutorUsage
from assistant.services.tutor_quota import tutor_quota_get, tutor_quota_take
from assistant.tests.tutor_fixtures import learner_with_tier, school_build
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from lms.errors import ApplicationError
from lms.tests.concurrency import run_together

THREADS = 8


def _take(user, now=None):
    def attempt() -> str:
        try:
            tutor_quota_take(user=user, now=now)
        except ApplicationError as error:
            return str(error.code)
        return "ok"

    return attempt


# --- Races at the limit --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("limit", [1, 3, 7])
def test_many_takes_at_once_never_go_over_the_limit(limit):
    TutorQuota.objects.create(tier=None, questions_per_day=limit)
    learner = UserFactory()

    results = run_together([_take(learner) for _ in range(THREADS * 2)])

    assert Counter(results) == {"ok": limit, "TUTOR_QUOTA_EXHAUSTED": THREADS * 2 - limit}
    assert TutorUsage.objects.get(user=learner).count == limit


def _ask_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _ask(client: Client, lesson):
    def attempt() -> tuple[int, str]:
        response = client.post(
            f"/api/v1/lessons/{lesson.pk}/tutor/",
            {"question": "How does the salsa timing work?"},
            content_type="application/json",
        )
        body = response.json()
        return response.status_code, body.get("error", {}).get("code", "")

    return attempt


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("tier_name", "limit", "refusal"),
    [
        # (tier held, its quota row, what the requests over it answer)
        (None, 3, (429, "TUTOR_QUOTA_EXHAUSTED")),  # learners without a tier
        ("Starter", 0, (403, "TUTOR_NOT_IN_PLAN")),  # a tier with no tutor at all
        ("Advanced", 5, (429, "TUTOR_QUOTA_EXHAUSTED")),
        ("Performer", None, (429, "TUTOR_QUOTA_EXHAUSTED")),  # no row: the setting's 2
    ],
)
def test_parallel_questions_at_the_limit_get_exactly_the_tiers_quota(
    fake_llm, settings, tier_name, limit, refusal
):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 2
    school = school_build()
    fake_llm.reply("Break on one [1].", delay=0.05)  # the calls overlap
    if tier_name is None:
        learner = UserFactory()
        TutorQuota.objects.create(tier=None, questions_per_day=limit)
    else:
        tier = TierFactory(name=tier_name, slug=tier_name.lower())
        learner = learner_with_tier(tier)
        if limit is not None:
            TutorQuota.objects.create(tier=tier, questions_per_day=limit)
        TutorQuota.objects.create(tier=None, questions_per_day=9)  # not theirs
    allowed = limit if limit is not None else 2
    clients = [_ask_client(learner) for _ in range(THREADS)]

    results = run_together([_ask(client, school.preview) for client in clients])

    assert Counter(results) == Counter({(200, ""): allowed, refusal: THREADS - allowed})
    assert len(fake_llm.requests) == allowed
    assert Message.objects.filter(role=Message.Role.ASSISTANT).count() == allowed
    used = TutorUsage.objects.filter(user=learner).values_list("count", flat=True).first()
    assert (used or 0) == allowed


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_questions_given_back_after_provider_failures_can_be_asked_again(fake_llm):
    TutorQuota.objects.create(tier=None, questions_per_day=2)
    school = school_build()
    learner = UserFactory()
    fake_llm.reply(status=500)  # every request fails, however many get through
    clients = [_ask_client(learner) for _ in range(4)]

    failed = run_together([_ask(client, school.preview) for client in clients])
    fake_llm.reply("Now it works [1].")
    after = run_together([_ask(client, school.preview) for client in clients])

    # Some of the first four were refused by the quota while others were in flight.
    assert {status for status, _ in failed} <= {502, 429}
    assert Counter(after) == {(200, ""): 2, (429, "TUTOR_QUOTA_EXHAUSTED"): 2}
    assert TutorUsage.objects.get(user=learner).count == 2


# --- Which quota -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_quota_follows_the_learners_current_tier(settings):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 4
    rookie = TierFactory(name="Rookie", slug="rookie", rank=1)
    advanced = TierFactory(name="Advanced", slug="advanced", rank=2)
    TutorQuota.objects.create(tier=None, questions_per_day=1)
    TutorQuota.objects.create(tier=rookie, questions_per_day=0)
    TutorQuota.objects.create(tier=advanced, questions_per_day=20)
    performer = TierFactory(name="Performer", slug="performer", rank=3)

    assert tutor_quota_get(user=UserFactory()).limit == 1
    assert tutor_quota_get(user=learner_with_tier(rookie)).limit == 0
    assert tutor_quota_get(user=learner_with_tier(advanced)).limit == 20
    assert tutor_quota_get(user=learner_with_tier(performer)).limit == 4  # no row
    both = learner_with_tier(rookie)
    tier_grant_create(user=both, tier=advanced, source="staff")
    assert tutor_quota_get(user=both).limit == 20  # the highest tier held


@pytest.mark.django_db
def test_a_tier_with_no_tutor_refuses_with_not_in_plan_and_counts_nothing():
    rookie = TierFactory(name="Rookie", slug="rookie", rank=1)
    TutorQuota.objects.create(tier=rookie, questions_per_day=0)
    learner = learner_with_tier(rookie)

    with pytest.raises(ApplicationError) as refused:
        tutor_quota_take(user=learner)

    assert refused.value.code == "TUTOR_NOT_IN_PLAN"
    assert not TutorUsage.objects.exists()


@pytest.mark.django_db
def test_one_quota_row_per_tier_and_one_for_learners_without_a_tier():
    TutorQuota.objects.create(tier=None, questions_per_day=1)

    with pytest.raises(ValidationError):
        TutorQuota(tier=None, questions_per_day=2).validate_constraints()


# --- The learner's own day ------------------------------------------------------------------


@pytest.mark.django_db
def test_the_quota_starts_again_at_the_learners_local_midnight():
    TutorQuota.objects.create(tier=None, questions_per_day=1)
    auckland = UserFactory(time_zone="Pacific/Auckland")  # UTC+13 in December
    london = UserFactory(time_zone="Europe/London")  # UTC+0 in December
    before_midnight_in_auckland = datetime(2026, 12, 1, 10, 59, 59, tzinfo=UTC)
    midnight_in_auckland = datetime(2026, 12, 1, 11, 0, 0, tzinfo=UTC)

    for learner in (auckland, london):
        tutor_quota_take(user=learner, now=before_midnight_in_auckland)
    with pytest.raises(ApplicationError) as refused:
        tutor_quota_take(user=auckland, now=before_midnight_in_auckland)

    assert refused.value.code == "TUTOR_QUOTA_EXHAUSTED"
    assert refused.value.retry_at == midnight_in_auckland
    # A second later it is a new day in Auckland, and still the same day in London.
    assert tutor_quota_get(user=auckland, now=midnight_in_auckland).remaining == 1
    tutor_quota_take(user=auckland, now=midnight_in_auckland)
    with pytest.raises(ApplicationError) as still_today:
        tutor_quota_take(user=london, now=midnight_in_auckland)
    assert still_today.value.retry_at == datetime(2026, 12, 2, 0, 0, tzinfo=UTC)
    assert tutor_quota_get(user=london, now=datetime(2026, 12, 2, tzinfo=UTC)).remaining == 1
    assert sorted(TutorUsage.objects.filter(user=auckland).values_list("day", flat=True)) == [
        datetime(2026, 12, 1).date(),
        datetime(2026, 12, 2).date(),
    ]


@pytest.mark.django_db
def test_resets_at_is_the_next_local_midnight_across_a_daylight_saving_change():
    # New York leaves daylight saving time on 1 November 2026 at 02:00 local.
    learner = UserFactory(time_zone="America/New_York")
    evening = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)  # 19:00 EDT on 31 October

    quota = tutor_quota_get(user=learner, now=evening)

    assert quota.resets_at == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # 00:00 EDT
    next_day = tutor_quota_get(user=learner, now=quota.resets_at + timedelta(hours=1))
    assert next_day.resets_at == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)  # 00:00 EST


@pytest.mark.django_db
def test_the_api_shows_the_quota_going_down(fake_llm):
    TutorQuota.objects.create(tier=None, questions_per_day=3)
    school = school_build()
    client = _ask_client(UserFactory())
    fake_llm.reply("Answer [1].")
    url = f"/api/v1/lessons/{school.preview.pk}/tutor/"

    before = client.get(url).json()["quota"]
    client.post(url, {"question": "Timing?"}, content_type="application/json")
    after = client.get(url).json()["quota"]

    assert (before["limit"], before["used"], before["remaining"]) == (3, 0, 3)
    assert (after["limit"], after["used"], after["remaining"]) == (3, 1, 2)
