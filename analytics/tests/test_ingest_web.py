"""The web client: lesson pages load static/js/analytics.js with its endpoint and CSRF token
(no inline script), and in real Chromium the player's play, seek, speed and pause arrive in
the event store with the lesson's view."""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from analytics.models import Event
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, sign_in
from media.services import video_file_create

EMAIL = "ana@example.com"
PASSWORD = "correct-horse-battery"  # UserFactory's password
CLIP = Path(__file__).resolve().parents[2] / "media" / "demo_clips" / "clip-1-colour-bars.webm"


@pytest.mark.django_db
def test_a_lesson_page_loads_the_client_for_signed_in_learners_only(client, user):
    lesson = LessonFactory(section=SectionFactory(course=CourseFactory()), kind="text")

    signed_out = client.get(lesson.get_absolute_url()).content.decode()
    client.force_login(user)
    page = client.get(lesson.get_absolute_url()).content.decode()

    assert "js/analytics.js" not in signed_out
    assert re.search(r'<script src="[^"]*js/analytics\.js" defer></script>', page)
    config = re.search(r'<div hidden id="lms-analytics"([^>]*)>', page).group(1)
    assert 'data-url="/api/v1/analytics/events/"' in config
    assert f'data-lesson="{lesson.pk}"' in config
    assert re.search(r'data-csrf-token="[^"]{20,}"', config)


@pytest.fixture
def video_lesson(transactional_db) -> Lesson:
    video = video_file_create(
        title="Colour bars",
        file=SimpleUploadedFile("bars.webm", CLIP.read_bytes(), content_type="video/webm"),
    )
    section = SectionFactory(course=CourseFactory(visibility=Course.Visibility.MEMBERS))
    return LessonFactory(
        section=section, kind=Lesson.Kind.VIDEO, video=video, duration_seconds=8, order=1
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_player_sends_play_seek_rate_and_pause_events(browser, live_server, video_lesson):
    learner = UserFactory(email=EMAIL, verified_email=True)
    page = browser.new_page(viewport=DESKTOP)
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)
    page.goto(f"{live_server.url}{video_lesson.get_absolute_url()}")
    page.wait_for_function("() => document.getElementById('lesson-player').readyState >= 1")
    page.wait_for_function("() => window.lmsAnalytics !== undefined")

    page.evaluate(
        "() => { const v = document.getElementById('lesson-player'); v.muted = true; v.play(); }"
    )
    page.wait_for_function("() => document.getElementById('lesson-player').currentTime > 1")
    page.evaluate("() => { document.getElementById('lesson-player').currentTime = 6; }")
    page.wait_for_function("() => !document.getElementById('lesson-player').seeking")
    page.evaluate("() => { document.getElementById('lesson-player').playbackRate = 2; }")
    page.evaluate("() => document.getElementById('lesson-player').pause()")
    with page.expect_response(re.compile(r"/api/v1/analytics/events/$")) as answer:
        page.evaluate("() => window.lmsAnalytics.flush()")

    assert answer.value.status == 200
    assert answer.value.json()["refused"] == 0
    events = list(Event.objects.filter(user=learner, source="client").order_by("occurred_at", "id"))
    assert [event.type for event in events] == [
        "lesson.viewed",
        "video.play",
        "video.seek",
        "video.rate",
        "video.pause",
    ]
    assert {(e.lesson_id, e.course_id, e.app) for e in events} == {
        (video_lesson.pk, video_lesson.course_id, "web")
    }
    seek = events[2].properties
    assert 0 < seek["from"] < 6 and seek["to"] == pytest.approx(6, abs=0.1)
    assert events[3].properties["rate"] == 2.0
    assert violations == []
