"""Heartbeats for a lesson played from a video file: credited as for Mux, only what the time
between two heartbeats allows (LMS_VIDEO_MAX_PLAYBACK_RATE), through the sync API."""

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from media.services import video_file_create
from progress.models import LessonProgress

pytestmark = pytest.mark.django_db

CLIP = Path(__file__).resolve().parents[1] / "demo_clips" / "clip-3-mandelbrot.webm"
URL = "/api/v1/progress/sync/"


@pytest.fixture
def lesson() -> Lesson:
    video = video_file_create(
        title="Mandelbrot",
        file=SimpleUploadedFile("clip.webm", CLIP.read_bytes(), content_type="video/webm"),
    )
    course = CourseFactory(visibility=Course.Visibility.PUBLIC)
    section = SectionFactory(course=course)
    # As seed_demo sets it: the clip's duration, rounded.
    return LessonFactory(
        section=section,
        kind=Lesson.Kind.VIDEO,
        video=video,
        duration_seconds=round(video.duration_seconds),
    )


@pytest.fixture
def api(api_client, user):
    api_client.force_authenticate(user)
    return api_client


def _beats(lesson: Lesson, *beats: tuple[float, float]) -> list[dict]:
    """Position events: (seconds after the start, player position)."""
    start = timezone.now() - timedelta(minutes=5)
    return [
        {
            "id": str(uuid.uuid4()),
            "type": "position",
            "lesson": str(lesson.pk),
            "occurred_at": (start + timedelta(seconds=after)).isoformat(),
            "position_seconds": position,
        }
        for after, position in beats
    ]


def test_a_heartbeat_at_the_start_and_one_at_the_end_complete_a_short_clip(api, user, lesson):
    response = api.post(URL, {"events": _beats(lesson, (0, 0.0), (8.1, 8.008))}, format="json")

    assert response.json()["results"][-1]["lesson_status"] == "completed"
    row = LessonProgress.objects.get(user=user, lesson=lesson)
    assert (row.status, row.watched_seconds, row.position_seconds) == ("completed", 8.0, 8.0)


def test_seeking_from_the_start_straight_to_the_end_does_not_count(api, user, lesson):
    response = api.post(URL, {"events": _beats(lesson, (0, 0.0), (1, 8.008))}, format="json")

    assert response.json()["results"][-1]["lesson_status"] == "in_progress"
    row = LessonProgress.objects.get(user=user, lesson=lesson)
    assert (row.status, row.watched_seconds, row.position_seconds) == ("in_progress", 0.0, 8.0)


def test_only_the_end_heartbeat_does_not_count(api, user, lesson):
    api.post(URL, {"events": _beats(lesson, (8, 8.008))}, format="json")

    row = LessonProgress.objects.get(user=user, lesson=lesson)
    assert (row.status, row.watched_seconds) == ("in_progress", 0.0)
