"""A file video in real headless Chromium: the browser's own <video> plays a committed demo
clip from our signed-file view (byte ranges and all) through the live server, player.js sends
real heartbeats, and the server credits only what was watched. A learner who watches the clip
to its end completes the lesson, even across a refresh of its short-lived URL; one who seeks
straight to the end does not.
"""

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, screenshot, sign_in
from media.services import video_file_create
from progress.models import LessonProgress

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "ana@example.com"
PASSWORD = "correct-horse-battery"  # UserFactory's password
CLIP = Path(__file__).resolve().parents[1] / "demo_clips" / "clip-1-colour-bars.webm"


@pytest.fixture
def lessons(transactional_db) -> dict[str, Lesson]:
    video = video_file_create(
        title="Colour bars",
        file=SimpleUploadedFile("bars.webm", CLIP.read_bytes(), content_type="video/webm"),
    )
    # A members course: its file URLs are signed and short-lived.
    section = SectionFactory(
        course=CourseFactory(slug="salsa", visibility=Course.Visibility.MEMBERS)
    )
    made = {}
    for order, slug in enumerate(["watch", "seek"]):
        made[slug] = LessonFactory(
            section=section,
            slug=slug,
            order=order,
            kind=Lesson.Kind.VIDEO,
            video=video,
            duration_seconds=8,
        )
    return made


def _open(page, base_url: str, lesson: Lesson):
    page.goto(f"{base_url}{lesson.get_absolute_url()}")
    page.wait_for_function("() => document.getElementById('lesson-player').readyState >= 1")
    return page.locator("video#lesson-player")


def _play(page) -> None:
    # Muted, so headless Chromium lets a script start it (as a click on play would).
    page.evaluate(
        "() => { const v = document.getElementById('lesson-player'); v.muted = true; v.play(); }"
    )


def test_watching_a_file_video_to_the_end_completes_the_lesson_across_a_url_refresh(
    browser, live_server, lessons, settings
):
    from playwright.sync_api import expect

    settings.LMS_PLAYBACK_TOKEN_TTL = 5  # the page's URL is refreshed while the clip plays
    learner = UserFactory(email=EMAIL, verified_email=True)
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)
    ranges = []
    page.on(
        "response",
        lambda response: (
            ranges.append(response.status) if "/video-files/" in response.url else None
        ),
    )

    player = _open(page, live_server.url, lessons["watch"])
    first_src = player.get_attribute("src")
    expect(page.locator("script[src*='mux-player']")).to_have_count(0)
    assert page.evaluate(
        "() => document.getElementById('lesson-player').duration"
    ) == pytest.approx(8.0, abs=0.1)
    with page.expect_response(re.compile(r"/position/$")) as start_beat:
        _play(page)
    assert start_beat.value.status == 200  # the heartbeat where playback starts

    page.wait_for_function("() => document.getElementById('lesson-player').ended", timeout=25_000)

    expect(page.locator("#watched-text")).to_contain_text("Completed", timeout=10_000)
    assert player.get_attribute("src") != first_src  # a fresh signed URL came meanwhile
    row = LessonProgress.objects.get(user=learner, lesson=lessons["watch"])
    assert row.status == LessonProgress.Status.COMPLETED
    assert row.watched_seconds >= 8 * settings.LMS_VIDEO_COMPLETE_THRESHOLD
    assert 206 in ranges  # Chromium fetched byte ranges and got them
    screenshot(page, "lesson-file-video")


def test_seeking_straight_to_the_end_of_a_file_video_does_not_complete_it(
    browser, live_server, lessons
):
    from playwright.sync_api import expect

    learner = UserFactory(email=EMAIL, verified_email=True)
    LessonProgress.objects.create(
        user=learner, lesson=lessons["seek"], course=lessons["seek"].course, position_seconds=2
    )
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, live_server.url, email=EMAIL, password=PASSWORD)

    _open(page, live_server.url, lessons["seek"])
    # The resume position: where the learner left off.
    page.wait_for_function("() => document.getElementById('lesson-player').currentTime >= 2")
    with page.expect_response(re.compile(r"/position/$")):
        _play(page)
    with page.expect_response(re.compile(r"/position/$")) as end_beat:
        page.evaluate(
            "() => { const v = document.getElementById('lesson-player'); "
            "v.currentTime = v.duration - 0.2; }"
        )
        page.wait_for_function(
            "() => document.getElementById('lesson-player').ended", timeout=10_000
        )

    assert end_beat.value.json()["status"] == "in_progress"
    expect(page.locator("#watched-text")).not_to_contain_text("Completed")
    row = LessonProgress.objects.get(user=learner, lesson=lessons["seek"])
    assert row.status == LessonProgress.Status.IN_PROGRESS
    assert row.watched_seconds < 2
    assert row.position_seconds == pytest.approx(8.0, abs=0.1)
