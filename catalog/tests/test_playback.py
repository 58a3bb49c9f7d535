"""Signed playback through the two ways out: the lesson page and `GET .../playback/`.

Tokens are checked with the public half of the signing key, as Mux checks them, and never
reach a user the access policy refuses: not in the page, not in the API.
"""

import base64
import datetime as dt

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.tests.factories import UserFactory
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from media.models import Video
from progress.models import LessonProgress

pytestmark = pytest.mark.django_db

KEY_ID = "signing-key-123"
PLAYBACK_ID = "sIgNeDpLaYbAcK01"
JWT_PREFIX = "eyJ"  # every JWT starts with the base64 of '{"'


@pytest.fixture(scope="module")
def key_pair() -> tuple[bytes, bytes]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


@pytest.fixture
def public_key(settings, key_pair) -> bytes:
    """Mux configured with a signing key (base64 PEM, as Mux gives it); the public PEM."""
    settings.MUX_SIGNING_KEY_ID = KEY_ID
    settings.MUX_SIGNING_KEY_PRIVATE = base64.b64encode(key_pair[0]).decode()
    settings.LMS_PLAYBACK_TOKEN_TTL = 900
    return key_pair[1]


@pytest.fixture
def player_installed(settings, tmp_path):
    """Mux Player's script in the static files, as `npm install` + STATICFILES_DIRS give it."""
    vendor = tmp_path / "static" / "vendor" / "mux-player"
    vendor.mkdir(parents=True)
    (vendor / "mux-player.js").write_text("/* Mux Player */\n")
    settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, tmp_path / "static"]


def _video(**kwargs) -> Video:
    values = {
        "title": "Finding the beat",
        "playback_id": PLAYBACK_ID,
        "status": Video.Status.READY,
        "duration_seconds": 420.0,
        "playback_policy": Video.PlaybackPolicy.SIGNED,
    }
    return Video.objects.create(**{**values, **kwargs})


def _lesson(*, visibility=Course.Visibility.PUBLIC, tier=None, video=None, **kwargs) -> Lesson:
    course = CourseFactory(slug="salsa", visibility=visibility, required_tier=tier)
    section = SectionFactory(course=course)
    values = {"slug": "finding-the-beat", "kind": Lesson.Kind.VIDEO, "duration_seconds": 420}
    return LessonFactory(section=section, video=video, **{**values, **kwargs})


def _api_url(lesson: Lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/playback/"


def _claims(token: str, public_key: bytes, audience: str) -> dict:
    assert jwt.get_unverified_header(token)["kid"] == KEY_ID
    return jwt.decode(token, public_key, algorithms=["RS256"], audience=audience)


def _error(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message, "fields": {}}}


def _assert_nothing_signed(content: bytes) -> None:
    text = content.decode()
    assert JWT_PREFIX not in text
    assert PLAYBACK_ID not in text
    assert "mux-player" not in text


# --- The API ------------------------------------------------------------------------------


def test_api_gives_an_allowed_learner_tokens_poster_expiry_and_resume_position(
    api_client, user, public_key
):
    video = _video()
    lesson = _lesson(visibility=Course.Visibility.MEMBERS, video=video)
    LessonProgress.objects.create(
        user=user, lesson=lesson, course=lesson.course, position_seconds=125.4
    )
    api_client.force_authenticate(user)
    before = int(timezone.now().timestamp())

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    body = response.json()
    tokens = body.pop("tokens")
    expires_at = dt.datetime.fromisoformat(body.pop("expires_at"))
    assert body == {
        "lesson": str(lesson.pk),
        "status": "ready",
        "video_id": str(video.pk),
        "title": "Finding the beat",
        "source": "mux",
        "playback_id": PLAYBACK_ID,
        "policy": "signed",
        "file": None,
        "poster_url": (
            f"https://image.mux.com/{PLAYBACK_ID}/thumbnail.jpg?token={tokens['thumbnail']}"
        ),
        "duration_seconds": 420.0,
        "resume_position": 125.4,
    }
    for name, audience in [("video", "v"), ("thumbnail", "t"), ("storyboard", "s")]:
        claims = _claims(tokens[name], public_key, audience)
        assert claims["sub"] == PLAYBACK_ID
        assert claims["kid"] == KEY_ID
        assert claims["exp"] == int(expires_at.timestamp())
    # Short-lived: the configured 15 minutes from now.
    assert before + 900 <= int(expires_at.timestamp()) <= before + 905


@pytest.mark.parametrize(("saved", "resume"), [(0.4, 0.0), (200.0, 200.0), (419.5, 0.0)])
def test_api_resumes_mid_video_but_starts_over_at_the_very_start_or_end(
    api_client, user, public_key, saved, resume
):
    lesson = _lesson(video=_video())
    LessonProgress.objects.create(
        user=user, lesson=lesson, course=lesson.course, position_seconds=saved
    )
    api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson))

    assert response.json()["resume_position"] == resume


def test_api_refuses_a_visitor_on_a_members_course_and_signs_nothing(api_client, public_key):
    lesson = _lesson(visibility=Course.Visibility.MEMBERS, video=_video())

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 403
    assert response.json() == _error("LOGIN_REQUIRED", "Sign in to open this lesson.")
    _assert_nothing_signed(response.content)


def test_api_refuses_a_learner_without_the_plan_and_signs_nothing(api_client, user, public_key):
    tier = TierFactory(slug="pro", name="Pro", rank=2)
    lesson = _lesson(visibility=Course.Visibility.PAID, tier=tier, video=_video())
    # A lower plan does not open it either.
    tier_grant_create(user=user, tier=TierFactory(slug="basic", rank=1), source="staff")
    api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 403
    assert response.json() == _error("UPGRADE_REQUIRED", "This lesson needs a higher plan.")
    _assert_nothing_signed(response.content)


def test_api_signs_for_a_learner_whose_plan_opens_the_course(api_client, user, public_key):
    tier = TierFactory(slug="pro", name="Pro", rank=2)
    lesson = _lesson(visibility=Course.Visibility.PAID, tier=tier, video=_video())
    tier_grant_create(user=user, tier=tier, source="staff")
    api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    assert _claims(response.json()["tokens"]["video"], public_key, "v")["sub"] == PLAYBACK_ID


def test_api_signs_a_free_preview_of_a_paid_course_for_a_visitor(api_client, public_key):
    tier = TierFactory(slug="pro", name="Pro", rank=2)
    lesson = _lesson(
        visibility=Course.Visibility.PAID, tier=tier, video=_video(), is_free_preview=True
    )

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    body = response.json()
    assert body["resume_position"] == 0.0
    assert _claims(body["tokens"]["storyboard"], public_key, "s")["sub"] == PLAYBACK_ID


def test_api_gives_a_public_video_without_tokens(api_client, settings):
    settings.MUX_SIGNING_KEY_ID = ""  # public playback needs no signing key
    video = _video(playback_policy=Video.PlaybackPolicy.PUBLIC, playback_id="PuBlIcId")
    lesson = _lesson(video=video)

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    assert response.json() == {
        "lesson": str(lesson.pk),
        "status": "ready",
        "video_id": str(video.pk),
        "title": "Finding the beat",
        "source": "mux",
        "playback_id": "PuBlIcId",
        "policy": "public",
        "tokens": None,
        "file": None,
        "expires_at": None,
        "poster_url": "https://image.mux.com/PuBlIcId/thumbnail.jpg",
        "duration_seconds": 420.0,
        "resume_position": 0.0,
    }


@pytest.mark.parametrize(
    ("video_values", "status"),
    [
        ({"status": Video.Status.WAITING, "playback_id": ""}, "processing"),
        ({"status": Video.Status.PREPARING, "playback_id": ""}, "processing"),
        ({"status": Video.Status.ERRORED, "playback_id": ""}, "failed"),
    ],
)
def test_api_says_why_a_video_cannot_play_yet(api_client, public_key, video_values, status):
    video = _video(**video_values)
    lesson = _lesson(video=video)

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    assert response.json() == {
        "lesson": str(lesson.pk),
        "status": status,
        "video_id": str(video.pk),
        "title": "Finding the beat",
        "source": "mux",
        "playback_id": "",
        "policy": "signed",
        "tokens": None,
        "file": None,
        "expires_at": None,
        "poster_url": "",
        "duration_seconds": None,
        "resume_position": 0.0,
    }


def test_api_says_signed_playback_is_not_configured_without_a_key(api_client, settings):
    settings.MUX_SIGNING_KEY_ID = ""
    settings.MUX_SIGNING_KEY_PRIVATE = ""
    lesson = _lesson(video=_video())

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["tokens"], body["playback_id"]) == ("not_configured", None, "")
    assert PLAYBACK_ID not in response.content.decode()


@pytest.mark.parametrize("deleted", [False, True])
def test_api_says_there_is_no_video_when_none_is_attached(api_client, public_key, deleted):
    video = _video(deleted_at=timezone.now()) if deleted else None
    lesson = _lesson(video=video)

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    assert response.json()["status"] == "no_video"
    _assert_nothing_signed(response.content)


def test_api_answers_404_for_a_missing_or_unpublished_lesson(api_client, public_key):
    hidden = _lesson(video=_video(), is_published=False)

    for url in [_api_url(hidden), "/api/v1/lessons/00000000-0000-0000-0000-000000000000/playback/"]:
        response = api_client.get(url)

        assert response.status_code == 404
        assert response.json() == _error("LESSON_NOT_FOUND", "There is no lesson at this address.")


def test_api_reads_a_fixed_number_of_queries(
    api_client, user, public_key, django_assert_max_num_queries
):
    lesson = _lesson(visibility=Course.Visibility.MEMBERS, video=_video())
    api_client.force_authenticate(user)

    with django_assert_max_num_queries(4):
        response = api_client.get(_api_url(lesson))

    assert response.status_code == 200


# --- The lesson page ----------------------------------------------------------------------


def test_page_embeds_the_player_with_tokens_metadata_and_resume_for_a_learner(
    client, user, public_key, player_installed
):
    video = _video()
    lesson = _lesson(visibility=Course.Visibility.MEMBERS, video=video)
    LessonProgress.objects.create(
        user=user, lesson=lesson, course=lesson.course, position_seconds=61.5
    )
    client.force_login(user)

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 200
    html = response.content.decode()
    player = html[html.index("<mux-player") : html.index("</mux-player>")]
    attributes = dict(
        part.split("=", 1) for part in player.replace("\n", " ").split() if "=" in part
    )
    assert attributes["playback-id"] == f'"{PLAYBACK_ID}"'
    for name, audience in [("playback", "v"), ("thumbnail", "t"), ("storyboard", "s")]:
        token = attributes[f"{name}-token"].strip('"')
        assert _claims(token, public_key, audience)["sub"] == PLAYBACK_ID
    assert attributes["metadata-video-id"] == f'"{video.pk}"'
    assert attributes["metadata-viewer-user-id"] == f'"{user.pk}"'
    assert attributes["start-time"] == '"61.5"'
    assert attributes["data-position-url"] == f'"/api/v1/lessons/{lesson.pk}/position/"'
    assert 'metadata-video-title="Finding the beat"' in player
    assert "/static/vendor/mux-player/mux-player.js" in html
    assert "/static/js/player.js" in html
    assert "The video player is not installed" not in html


def test_page_says_the_player_is_not_installed_without_npm(
    client, user, public_key, settings, tmp_path
):
    # What a machine without npm has: our own static files, no node_modules, and nothing
    # collected (`make bench` and `make schemathesis` collect into STATIC_ROOT).
    settings.STATICFILES_DIRS = [settings.BASE_DIR / "static"]
    settings.STATIC_ROOT = tmp_path / "collected"
    lesson = _lesson(video=_video())
    client.force_login(user)

    response = client.get(lesson.get_absolute_url())

    html = response.content.decode()
    assert "The video player is not installed (run make with npm)" in html
    assert "mux-player.js" not in html


def test_page_shows_the_locked_page_and_no_token_to_a_visitor_on_a_members_course(
    client, public_key, player_installed
):
    lesson = _lesson(visibility=Course.Visibility.MEMBERS, video=_video())

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 403
    assert "Sign in to open this lesson" in response.content.decode()
    _assert_nothing_signed(response.content)


def test_page_shows_the_locked_page_and_no_token_to_a_learner_without_the_plan(
    client, user, public_key, player_installed
):
    tier = TierFactory(slug="pro", name="Pro", rank=2)
    lesson = _lesson(visibility=Course.Visibility.PAID, tier=tier, video=_video())
    client.force_login(user)

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 403
    _assert_nothing_signed(response.content)


def test_page_plays_a_public_video_without_tokens(client, settings, player_installed):
    settings.MUX_SIGNING_KEY_ID = ""
    lesson = _lesson(video=_video(playback_policy=Video.PlaybackPolicy.PUBLIC))

    response = client.get(lesson.get_absolute_url())

    html = response.content.decode()
    assert f'playback-id="{PLAYBACK_ID}"' in html
    assert "-token=" not in html
    assert JWT_PREFIX not in html
    # Visitors are not tracked: no viewer id and nowhere to send positions.
    assert "metadata-viewer-user-id" not in html
    assert "data-position-url" not in html


@pytest.mark.parametrize(
    ("video_values", "message"),
    [
        ({"status": Video.Status.PREPARING, "playback_id": ""}, "This video is still processing"),
        ({"status": Video.Status.ERRORED, "playback_id": ""}, "This video is not available"),
        ({"deleted_at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)}, "No video yet"),
        (None, "No video yet"),
    ],
)
def test_page_explains_a_video_that_cannot_play(
    client, public_key, player_installed, video_values, message
):
    lesson = _lesson(video=_video(**video_values) if video_values is not None else None)

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 200
    assert message in response.content.decode()
    _assert_nothing_signed(response.content)


def test_page_says_video_playback_is_not_configured_without_a_key(
    client, settings, player_installed
):
    settings.MUX_SIGNING_KEY_ID = ""
    lesson = _lesson(video=_video())

    response = client.get(lesson.get_absolute_url())

    assert "Video playback is not configured" in response.content.decode()
    _assert_nothing_signed(response.content)


def test_page_queries_do_not_grow_with_the_course(client, user, public_key, player_installed):
    client.force_login(user)
    counts = []
    for size in (5, 200):
        course = CourseFactory(visibility=Course.Visibility.MEMBERS)
        section = SectionFactory(course=course)
        lessons = [
            Lesson(course=course, section=section, title=f"L{n}", slug=f"l-{n}", order=n)
            for n in range(size)
        ]
        Lesson.objects.bulk_create(lessons)
        lesson = lessons[size // 2]
        lesson.kind = Lesson.Kind.VIDEO
        lesson.video = _video(playback_id=f"{PLAYBACK_ID}{size}")
        lesson.save()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(lesson.get_absolute_url())
        assert response.status_code == 200
        assert "<mux-player" in response.content.decode()
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_a_second_user_gets_their_own_viewer_id(client, public_key, player_installed):
    lesson = _lesson(visibility=Course.Visibility.MEMBERS, video=_video())
    other = UserFactory()
    client.force_login(other)

    html = client.get(lesson.get_absolute_url()).content.decode()

    assert f'metadata-viewer-user-id="{other.pk}"' in html
