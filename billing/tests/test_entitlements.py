"""Tier grants: what they open, when they stop, and what asking costs."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.entitlements import subscription_gives_access, user_active_tier_rank
from billing.models import TierGrant
from billing.services import tier_grant_create
from billing.tests.factories import SubscriptionFactory, TierFactory
from billing.tests.fake_stripe import fake_stripe_fixture  # noqa: F401
from catalog.access import Reason, course_access, lesson_access
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, course_with_lessons

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiers():
    return {
        "rookie": TierFactory(slug="rookie", name="Rookie", rank=1),
        "advanced": TierFactory(slug="advanced", name="Advanced", rank=2),
        "performer": TierFactory(slug="performer", name="Performer", rank=3),
    }


def _paid_lesson(tier):
    course = CourseFactory(visibility="paid", required_tier=tier)
    return LessonFactory(section__course=course)


def _grant(user, tier, *, days=30, starts_in_days=0, source_id=""):
    starts_at = timezone.now() + timedelta(days=starts_in_days)
    return tier_grant_create(
        user=user,
        tier=tier,
        source=TierGrant.Source.STAFF,
        source_id=source_id,
        starts_at=starts_at,
        expires_at=starts_at + timedelta(days=days) if days is not None else None,
    )


def test_nobody_holds_a_tier_without_a_grant(tiers):
    assert user_active_tier_rank(user=UserFactory()) is None
    assert user_active_tier_rank(user=AnonymousUser()) is None


@pytest.mark.parametrize(
    ("course_tier", "allowed", "reason"),
    [
        ("rookie", True, Reason.ENTITLED),
        ("advanced", True, Reason.ENTITLED),
        ("performer", False, Reason.UPGRADE_REQUIRED),
    ],
)
def test_an_advanced_grant_opens_courses_up_to_advanced(tiers, course_tier, allowed, reason):
    learner = UserFactory()
    _grant(learner, tiers["advanced"])
    lesson = _paid_lesson(tiers[course_tier])

    decision = lesson_access(user=learner, course=lesson.course, lesson=lesson)

    assert (decision.allowed, decision.reason) == (allowed, reason)


def test_an_expired_grant_opens_nothing(tiers):
    learner = UserFactory()
    grant = _grant(learner, tiers["performer"], days=30)
    TierGrant.objects.filter(pk=grant.pk).update(
        starts_at=timezone.now() - timedelta(days=31),
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    learner = type(learner).objects.get(pk=learner.pk)  # a fresh request's user
    lesson = _paid_lesson(tiers["rookie"])

    decision = course_access(user=learner, course=lesson.course)

    assert user_active_tier_rank(user=learner) is None
    assert (decision.allowed, decision.reason) == (False, Reason.UPGRADE_REQUIRED)


def test_a_grant_that_has_not_started_opens_nothing_yet(tiers):
    learner = UserFactory()
    _grant(learner, tiers["advanced"], starts_in_days=1)

    assert user_active_tier_rank(user=learner) is None


def test_the_highest_unexpired_grant_counts(tiers):
    learner = UserFactory()
    _grant(learner, tiers["rookie"], days=None)
    _grant(learner, tiers["advanced"], days=10)
    expired = _grant(learner, tiers["performer"], days=10)
    TierGrant.objects.filter(pk=expired.pk).update(
        starts_at=timezone.now() - timedelta(days=20), expires_at=timezone.now()
    )
    learner = type(learner).objects.get(pk=learner.pk)

    assert user_active_tier_rank(user=learner) == 2


def test_the_rank_is_read_once_per_user_object(tiers, django_assert_num_queries):
    learner = UserFactory()
    _grant(learner, tiers["advanced"])
    learner = type(learner).objects.get(pk=learner.pk)
    for _ in range(5):
        _paid_lesson(tiers["rookie"])
    courses = list(Course.objects.select_related("required_tier").prefetch_related("instructors"))

    with django_assert_num_queries(1):
        decisions = [course_access(user=learner, course=course) for course in courses]

    assert all(decision.allowed for decision in decisions)


def test_a_new_grant_is_seen_at_once_by_the_same_user_object(tiers):
    learner = UserFactory()
    assert user_active_tier_rank(user=learner) is None

    _grant(learner, tiers["performer"])

    assert user_active_tier_rank(user=learner) == 3


def test_granting_twice_for_the_same_source_keeps_the_first_grant(tiers):
    learner = UserFactory()
    first = _grant(learner, tiers["advanced"], days=30, source_id="invite-1")

    again = _grant(learner, tiers["advanced"], days=60, source_id="invite-1")

    assert again == first
    assert list(TierGrant.objects.filter(user=learner)) == [first]


def test_a_grant_must_end_after_it_starts(tiers):
    with pytest.raises(ValidationError) as raised:
        _grant(UserFactory(), tiers["advanced"], days=0)

    assert raised.value.messages == ["A grant must end after it starts."]
    assert not TierGrant.objects.exists()


@pytest.mark.parametrize("page", ["course", "lesson"])
def test_a_paid_course_asks_for_the_tier_once_per_page_whatever_its_size(
    client, tiers, django_assert_max_num_queries, page
):
    learner = UserFactory()
    _grant(learner, tiers["advanced"])
    client.force_login(learner)
    client.get("/")  # the first request of a session does some one-off writes
    counts = []
    for lesson_count in (5, 200):
        course = course_with_lessons(
            lesson_count, sections=4, visibility="paid", required_tier=tiers["advanced"]
        )
        url = course.get_absolute_url()
        if page == "lesson":
            url = Lesson.objects.filter(course=course).first().get_absolute_url()
        with django_assert_max_num_queries(20) as captured:
            response = client.get(url)
        assert response.status_code == 200
        assert response.context["outline"].access.reason == Reason.ENTITLED
        assert "catalog/lesson_locked.html" not in [t.name for t in response.templates]
        grant_queries = [q for q in captured.captured_queries if "billing_tiergrant" in q["sql"]]
        assert len(grant_queries) == 1
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_a_lapsed_subscription_opens_nothing_costs_no_extra_query_and_queues_one_re_read(
    tiers, fake_stripe, django_assert_num_queries, django_capture_on_commit_callbacks, settings
):
    # Our copy says active, but its period ended longer than the grace period ago.
    settings.LMS_BILLING_GRACE_DAYS = 3
    subscription = SubscriptionFactory(
        plan__tier=tiers["advanced"], current_period_end=timezone.now() - timedelta(days=4)
    )
    learner = type(subscription.user).objects.get(pk=subscription.user.pk)
    for _ in range(5):
        _paid_lesson(tiers["rookie"])
    courses = list(Course.objects.select_related("required_tier").prefetch_related("instructors"))

    with django_capture_on_commit_callbacks() as queued:
        with django_assert_num_queries(1):
            decisions = [course_access(user=learner, course=course) for course in courses]
        # Another request of the same learner a moment later queues nothing more.
        again = type(learner).objects.get(pk=learner.pk)
        assert user_active_tier_rank(user=again) is None

    assert {decision.reason for decision in decisions} == {Reason.UPGRADE_REQUIRED}
    assert len(queued) == 1


@pytest.mark.parametrize(
    ("status", "period_ended_days_ago", "reason"),
    [
        pytest.param("active", 4, Reason.UPGRADE_REQUIRED, id="active-lapsed"),
        pytest.param("trialing", 4, Reason.UPGRADE_REQUIRED, id="trial-lapsed"),
        pytest.param("active", 2, Reason.ENTITLED, id="active-within-grace"),
        pytest.param("trialing", 2, Reason.ENTITLED, id="trial-within-grace"),
        pytest.param("active", -20, Reason.ENTITLED, id="active-in-period"),
        pytest.param("active", None, Reason.ENTITLED, id="active-no-period-known"),
    ],
)
def test_an_active_or_trialing_subscription_opens_its_tier_until_grace_after_its_period(
    tiers, settings, status, period_ended_days_ago, reason
):
    settings.LMS_BILLING_GRACE_DAYS = 3
    period_end = (
        None
        if period_ended_days_ago is None
        else timezone.now() - timedelta(days=period_ended_days_ago)
    )
    subscription = SubscriptionFactory(
        plan__tier=tiers["advanced"], status=status, current_period_end=period_end
    )
    learner = type(subscription.user).objects.get(pk=subscription.user.pk)
    lesson = _paid_lesson(tiers["advanced"])

    decision = lesson_access(user=learner, course=lesson.course, lesson=lesson)

    assert decision.reason == reason
    assert subscription_gives_access(subscription=subscription) is (reason == Reason.ENTITLED)
