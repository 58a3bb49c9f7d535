"""Who opens which lesson, from one table, through every way out (must-show 3).

`MATRIX` below states the answer for each kind of user and each kind of course: allowed iff
the course is public, the lesson a free preview, the user staff, the course for members and
the user signed in, or the user's tier ranks at least the course's. Each cell is checked
through the three doors a learner can knock on, which must agree: the lesson page (HTML), the
lesson API and the playback API. A locked lesson leaks nothing through any of them (no notes,
no playback id, no token) and points the way in: sign in, or see the plans.

Subscriptions are rows as `billing.services.subscription_sync` would have stored them
(factories); the webhook and checkout paths that write them are covered in test_lifecycle.py
and test_browser_checkout.py. Grants come from `tier_grant_create`, as an invite makes them.
"""

import base64
import re
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth.models import AnonymousUser
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.models import Plan, Tier, TierGrant
from billing.services import tier_grant_create
from billing.tests.factories import PlanFactory, SubscriptionFactory, TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.errors import CATALOG, ErrorCode
from media.models import Video

pytestmark = pytest.mark.django_db

GRACE_DAYS = 7
PLAYBACK_ID = "mAtRiXpLaYbAcK01"
BODY_MARKER = "Matrix notes: shift your weight on the and-count"
JWT_PREFIX = "eyJ"  # every JWT starts with the base64 of '{"'

OPEN = "open"
LOGIN = ErrorCode.LOGIN_REQUIRED
UPGRADE = ErrorCode.UPGRADE_REQUIRED
A, L, U = OPEN, LOGIN, UPGRADE  # allowed, sign in, upgrade: short for the table

# The kinds of course, in the order of the MATRIX columns. "preview" is a free-preview lesson
# of a course that needs the top tier.
COURSES = ("public", "members", "rookie", "advanced", "performer", "preview")

# fmt: off
MATRIX = {
    #                             public members rookie advanced performer preview
    "anonymous":                  (A,    L,      L,     L,       L,        A),
    "learner":                    (A,    A,      U,     U,       U,        A),
    "subscriber-rookie":          (A,    A,      A,     U,       U,        A),
    "subscriber-advanced":        (A,    A,      A,     A,       U,        A),
    "subscriber-performer":       (A,    A,      A,     A,       A,        A),
    "trialing-advanced":          (A,    A,      A,     A,       U,        A),
    "past-due-in-grace-advanced": (A,    A,      A,     A,       U,        A),
    "past-due-expired-advanced":  (A,    A,      U,     U,       U,        A),
    "canceled-performer":         (A,    A,      U,     U,       U,        A),
    "invited-advanced":           (A,    A,      A,     A,       U,        A),
    "invite-expired-performer":   (A,    A,      U,     U,       U,        A),
    "staff":                      (A,    A,      A,     A,       A,        A),
}
# fmt: on

CASES = [
    pytest.param(who, course, expected, id=f"{who}--{course}")
    for who, row in MATRIX.items()
    for course, expected in zip(COURSES, row, strict=True)
]

# One fixed budget for every user (a little above the most any of them costs today), so no
# kind of entitlement may add queries per grant, subscription or lesson.
QUERY_BUDGET = {"page": 14, "api": 9, "playback": 8}


@pytest.fixture(scope="module")
def signing_key() -> str:
    """A Mux signing key as Mux hands it out (base64 of a PEM private key)."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    return base64.b64encode(pem).decode()


@pytest.fixture(autouse=True)
def _configured(settings, signing_key) -> None:
    settings.MUX_SIGNING_KEY_ID = "matrix-signing-key"
    settings.MUX_SIGNING_KEY_PRIVATE = signing_key
    settings.LMS_BILLING_GRACE_DAYS = GRACE_DAYS


@pytest.fixture
def tiers() -> dict[str, Tier]:
    return {
        slug: TierFactory(slug=slug, name=slug.title(), rank=rank)
        for slug, rank in (("rookie", 1), ("advanced", 2), ("performer", 3))
    }


@pytest.fixture
def plans(tiers) -> dict[str, Plan]:
    return {slug: PlanFactory(slug=slug, tier=tier) for slug, tier in tiers.items()}


def _lesson(kind: str, tiers: dict[str, Tier]) -> Lesson:
    """One signed, ready video lesson in a course of this kind."""
    if kind in ("public", "members"):
        course = CourseFactory(slug=f"{kind}-course", visibility=kind)
    else:
        tier = tiers["performer" if kind == "preview" else kind]
        course = CourseFactory(
            slug=f"{kind}-course", visibility=Course.Visibility.PAID, required_tier=tier
        )
    video = Video.objects.create(
        title="On the and-count",
        playback_id=PLAYBACK_ID,
        status=Video.Status.READY,
        duration_seconds=300.0,
        playback_policy=Video.PlaybackPolicy.SIGNED,
    )
    return LessonFactory(
        section=SectionFactory(course=course),
        slug="the-and-count",
        kind=Lesson.Kind.VIDEO,
        video=video,
        body=BODY_MARKER,
        is_free_preview=kind == "preview",
    )


def _subscriber(plan: Plan, status: str, *, past_due_days: int | None = None, **fields):
    past_due_since = (
        timezone.now() - timedelta(days=past_due_days) if past_due_days is not None else None
    )
    return SubscriptionFactory(
        plan=plan, status=status, past_due_since=past_due_since, **fields
    ).user


def _invited(tier: Tier, *, expired: bool):
    user = UserFactory()
    now = timezone.now()
    tier_grant_create(
        user=user,
        tier=tier,
        source=TierGrant.Source.INVITE,
        source_id=f"invite-{user.pk}",
        starts_at=now - timedelta(days=40) if expired else now,
        expires_at=now - timedelta(days=10) if expired else now + timedelta(days=30),
    )
    return user


def _person(who: str, plans: dict[str, Plan], tiers: dict[str, Tier]):
    ended = timezone.now() - timedelta(days=1)
    builders = {
        "anonymous": AnonymousUser,
        "learner": UserFactory,
        "subscriber-rookie": lambda: _subscriber(plans["rookie"], "active"),
        "subscriber-advanced": lambda: _subscriber(plans["advanced"], "active"),
        "subscriber-performer": lambda: _subscriber(plans["performer"], "active"),
        "trialing-advanced": lambda: _subscriber(plans["advanced"], "trialing"),
        "past-due-in-grace-advanced": lambda: _subscriber(
            plans["advanced"], "past_due", past_due_days=GRACE_DAYS - 1
        ),
        "past-due-expired-advanced": lambda: _subscriber(
            plans["advanced"], "past_due", past_due_days=GRACE_DAYS + 1
        ),
        "canceled-performer": lambda: _subscriber(
            plans["performer"], "canceled", canceled_at=ended, ended_at=ended
        ),
        "invited-advanced": lambda: _invited(tiers["advanced"], expired=False),
        "invite-expired-performer": lambda: _invited(tiers["performer"], expired=True),
        "staff": lambda: UserFactory(is_staff=True),
    }
    return builders[who]()


def _get(client, url: str, budget: int, django_assert_max_num_queries):
    with django_assert_max_num_queries(budget):
        return client.get(url)


@pytest.mark.parametrize(("who", "course_kind", "expected"), CASES)
def test_page_api_and_playback_agree_with_the_table(
    client, tiers, plans, who, course_kind, expected, django_assert_max_num_queries
):
    lesson = _lesson(course_kind, tiers)
    person = _person(who, plans, tiers)
    if person.is_authenticated:
        client.force_login(person)

    page = _get(
        client, lesson.get_absolute_url(), QUERY_BUDGET["page"], django_assert_max_num_queries
    )
    api = _get(
        client,
        reverse("catalog-api:lesson-detail", args=[lesson.pk]),
        QUERY_BUDGET["api"],
        django_assert_max_num_queries,
    )
    playback = _get(
        client,
        reverse("progress-api:lesson-playback", args=[lesson.pk]),
        QUERY_BUDGET["playback"],
        django_assert_max_num_queries,
    )

    html = page.content.decode()
    answers = (page.status_code, api.status_code, playback.status_code)
    if expected == OPEN:
        assert answers == (200, 200, 200)
        # The page: the notes and a player with a signed token, no locked panel.
        assert BODY_MARKER in html
        assert f'playback-id="{PLAYBACK_ID}"' in html
        assert f'playback-token="{JWT_PREFIX}' in html
        assert "locked-panel" not in html
        # The API: the notes; the playback API: a ready video with its tokens.
        assert api.json()["access"]["allowed"] is True
        assert BODY_MARKER in api.json()["body_html"]
        played = playback.json()
        assert (played["status"], played["playback_id"]) == ("ready", PLAYBACK_ID)
        assert played["tokens"]["video"].startswith(JWT_PREFIX)
        return

    assert answers == (403, 403, 403)
    envelope = {"error": {"code": expected, "message": CATALOG[expected].message, "fields": {}}}
    assert api.json() == envelope
    assert playback.json() == envelope
    # Nothing of the lesson leaks: no notes, no playback id, no token, anywhere.
    for body in (html, api.content.decode(), playback.content.decode()):
        assert BODY_MARKER not in body
        assert PLAYBACK_ID not in body
        assert "playback-token" not in body
    assert "locked-panel" in html
    if expected == LOGIN:
        assert re.search(r'href="/accounts/login/\?next=[^"]*the-and-count', html)
    else:
        # The upgrade path: the needed plan named, and the way to the plans.
        required = lesson.course.required_tier.name
        assert f"needs the {required} plan" in html
        assert re.search(r'href="/pricing/[^"]*"[^>]*>\s*See plans', html)
