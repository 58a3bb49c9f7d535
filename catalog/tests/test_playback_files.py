"""File videos through the two ways out (the lesson page and `GET .../playback/`): a URL and
type instead of Mux ids, signed and short-lived unless anyone may open the lesson, and never
for a user the access policy refuses."""

import datetime as dt
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from media.models import Video
from media.services import video_file_create
from progress.models import LessonProgress

pytestmark = pytest.mark.django_db

CLIP = Path(__file__).resolve().parents[2] / "media" / "demo_clips" / "clip-2-test-pattern.webm"


@pytest.fixture
def video() -> Video:
    return video_file_create(
        title="Test pattern",
        file=SimpleUploadedFile("clip.webm", CLIP.read_bytes(), content_type="video/webm"),
    )


def _lesson(video: Video, *, visibility=Course.Visibility.MEMBERS, tier=None, **kwargs) -> Lesson:
    course = CourseFactory(slug="salsa", visibility=visibility, required_tier=tier)
    section = SectionFactory(course=course)
    values = {"slug": "pattern", "kind": Lesson.Kind.VIDEO, "duration_seconds": 8}
    return LessonFactory(section=section, video=video, **{**values, **kwargs})


def _api_url(lesson: Lesson) -> str:
    return f"/api/v1/lessons/{lesson.pk}/playback/"


def _expires(url: str) -> int | None:
    from django.core import signing

    token = parse_qs(urlsplit(url).query)["t"][0]
    return signing.Signer(salt="media.video-file").unsign_object(token)["e"]


def test_api_gives_a_members_lesson_a_short_lived_file_url(api_client, user, video, settings):
    settings.LMS_PLAYBACK_TOKEN_TTL = 600
    lesson = _lesson(video)
    LessonProgress.objects.create(
        user=user, lesson=lesson, course=lesson.course, position_seconds=3.2
    )
    api_client.force_authenticate(user)
    before = int(timezone.now().timestamp())

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 200
    body = response.json()
    url = body["file"]["url"]
    expires_at = dt.datetime.fromisoformat(body.pop("expires_at"))
    assert body == {
        "lesson": str(lesson.pk),
        "status": "ready",
        "video_id": str(video.pk),
        "title": "Test pattern",
        "source": "file",
        "playback_id": "",
        "policy": "signed",
        "tokens": None,
        "file": {"url": url, "type": "video/webm"},
        "poster_url": "",
        "duration_seconds": 8.008,
        "resume_position": 3.2,
    }
    assert url.startswith(f"/video-files/{video.pk}/?t=")
    assert before + 600 <= int(expires_at.timestamp()) <= before + 601
    assert _expires(url) == int(expires_at.timestamp())
    assert api_client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("visibility", "free_preview"),
    [(Course.Visibility.PUBLIC, False), (Course.Visibility.PAID, True)],
    ids=["public-course", "free-preview"],
)
def test_lessons_anyone_may_open_get_a_stable_url(api_client, video, visibility, free_preview):
    tier = TierFactory() if visibility == Course.Visibility.PAID else None
    lesson = _lesson(video, visibility=visibility, tier=tier, is_free_preview=free_preview)

    first = api_client.get(_api_url(lesson)).json()
    second = api_client.get(_api_url(lesson)).json()

    assert first["expires_at"] is None
    assert first["file"] == second["file"]
    assert _expires(first["file"]["url"]) is None


def test_a_draft_public_course_is_not_open_to_anyone_so_its_url_expires(api_client, video, user):
    lesson = _lesson(video, visibility=Course.Visibility.PUBLIC)
    Course.objects.filter(pk=lesson.course_id).update(status=Course.Status.DRAFT)
    lesson.course.instructors.add(user)
    lesson.refresh_from_db()
    api_client.force_authenticate(user)

    body = api_client.get(_api_url(lesson)).json()

    assert body["status"] == "ready"
    assert body["expires_at"] is not None
    assert _expires(body["file"]["url"]) is not None


@pytest.mark.parametrize(
    ("signed_in", "visibility", "code", "message"),
    [
        (False, Course.Visibility.MEMBERS, "LOGIN_REQUIRED", "Sign in to open this lesson."),
        (True, Course.Visibility.PAID, "UPGRADE_REQUIRED", "This lesson needs a higher plan."),
    ],
)
def test_a_learner_without_access_gets_the_error_and_no_url(
    api_client, user, video, signed_in, visibility, code, message
):
    tier = TierFactory() if visibility == Course.Visibility.PAID else None
    lesson = _lesson(video, visibility=visibility, tier=tier)
    if signed_in:
        api_client.force_authenticate(user)

    response = api_client.get(_api_url(lesson))

    assert response.status_code == 403
    assert response.json() == {"error": {"code": code, "message": message, "fields": {}}}
    assert b"video-files" not in response.content


def test_the_lesson_page_plays_the_file_in_a_video_element_without_mux_player(client, user, video):
    lesson = _lesson(video)
    LessonProgress.objects.create(
        user=user, lesson=lesson, course=lesson.course, position_seconds=4
    )
    client.force_login(user)

    response = client.get(lesson.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert '<video\n      id="lesson-player"' in page
    assert 'preload="metadata"' in page and " controls\n" in page
    assert f'src="/video-files/{video.pk}/?t=' in page
    assert 'data-source-type="video/webm"' in page
    assert 'data-start-time="4.0"' in page
    assert f'data-playback-url="/api/v1/lessons/{lesson.pk}/playback/"' in page
    assert "data-expires-at=" in page
    assert "js/player.js" in page
    assert "mux-player" not in page  # neither the element nor its script
    csp = response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in csp
    media_src = next(part for part in csp.split(";") if part.strip().startswith("media-src"))
    assert "'self'" in media_src


def test_a_visitor_sees_the_lock_page_and_no_file_url(client, video):
    lesson = _lesson(video)

    response = client.get(lesson.get_absolute_url())

    assert response.status_code == 403
    assert b"video-files" not in response.content
    assert b"<video" not in response.content


def test_a_public_lesson_page_has_a_stable_url_and_no_refresh(client, video):
    lesson = _lesson(video, visibility=Course.Visibility.PUBLIC)

    page = client.get(lesson.get_absolute_url()).content.decode()

    assert f'src="/video-files/{video.pk}/?t=' in page
    assert "data-playback-url" not in page
    assert "data-expires-at" not in page


def test_with_s3_configured_media_src_allows_the_bucket():
    # Settings are read once per process: the policy is built in a fresh one.
    from lms.tests.test_security_headers import _policy_in_fresh_process

    policy = _policy_in_fresh_process(
        AWS_STORAGE_BUCKET_NAME="school", AWS_S3_REGION_NAME="eu-west-3"
    )

    assert "https://school.s3.eu-west-3.amazonaws.com" in policy["media-src"]
    assert "'self'" in policy["media-src"]
