"""The demo school from a newcomer's side, in real headless Chromium, on a desktop and a phone.

`seed_demo` builds the real demo school (no Mux, no Stripe). A visitor opens Salsa Foundations
(public: video lessons, a text lesson, a quiz and a lab), signs up from it with a full name,
verifies with the code from the email and lands back on the course. They watch every video
lesson to its end through the file source (the browser's own <video>, real heartbeats to the
server), complete the text lesson and the lab with "Mark as complete", fail the quiz once
without being shown the answers, pass it, finish the course and open the certificate with
their name. On the phone the header menu is worked by keyboard.

axe-core runs on each distinct page of the journey (signed out and in): no serious or
critical violation. The journey also takes the README's screenshots: the course page and a
video lesson, viewport-sized, into LMS_SCREENSHOT_DIR (`make screenshots` points it at
docs/screenshots/), under stable names so a rerun overwrites them.
"""

import re

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from accounts.models import User
from catalog.models import Course, Lesson
from lms.tests.browser import (
    DESKTOP,
    PHONE_OPTIONS,
    SCREENS,
    axe_serious_violations,
    code_sent_to,
    header_links,
)
from progress.models import Certificate, LessonProgress, QuizAttempt

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COURSE_SLUG = "salsa-foundations"
COURSE_TITLE = "Salsa Foundations"
FULL_NAME = "Ana Lucía Torres"
PASSWORD = "a-long-and-unusual-passphrase"
# The demo quiz's explanations (seed_demo's DEMO_QUIZZES): none may show before the reveal.
EXPLANATIONS = (
    "You step on 1-2-3 and 5-6-7 and pause on 4 and 8.",
    "the follower mirrors it",
    "One basic step is one phrase of",
)
# Faster than real time, within what the server credits (LMS_VIDEO_MAX_PLAYBACK_RATE), with
# room to spare: a slow first heartbeat on a busy CI machine still leaves the clip credited.
PLAYBACK_RATE = 1.5
VARIANTS = [
    ("desktop", {"viewport": DESKTOP, "device_scale_factor": 1}),
    ("phone", PHONE_OPTIONS),
]


@pytest.fixture
def demo_school(transactional_db) -> Course:
    # seed_demo refuses to run with DEBUG off (it prints a superuser's password); the demo
    # school is what a developer gets, so it is seeded as on a development site.
    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=open("/dev/null", "w"))  # noqa: SIM115
    return Course.objects.get(slug=COURSE_SLUG)


class Journey:
    """The page, plus the checks every step repeats: axe-core, and the README pictures."""

    def __init__(self, page, base: str, device: str) -> None:
        self.page = page
        self.base = base
        self.device = device
        self.violations: dict[str, list[str]] = {}

    def axe(self, name: str) -> None:
        self.violations[name] = axe_serious_violations(self.page)

    def picture(self, name: str) -> None:
        """A viewport-sized screenshot from the top, named stably (a rerun overwrites it)."""
        self.page.evaluate("window.scrollTo(0, 0)")
        SCREENS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENS / f"{name}-{self.device}.png"))

    def heading(self):
        return self.page.get_by_role("heading", level=1)


def _phone_menu_by_keyboard(page) -> None:
    """Tab to the Menu button, open it with Enter, close it with Escape (focus goes back to
    the button), open it again with Space: the links are there to click."""
    from playwright.sync_api import expect

    header = page.get_by_role("banner")
    toggle = header.get_by_role("button", name="Menu")
    sign_up = header.get_by_role("link", name="Sign up")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(sign_up).to_be_hidden()
    for _ in range(3):  # the skip link, the logo, the button
        page.keyboard.press("Tab")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    for name in ("Catalog", "Pricing", "Sign in"):
        expect(header.get_by_role("link", name=name)).to_be_visible()
    expect(sign_up).to_be_visible()
    page.keyboard.press("Escape")
    expect(toggle).to_have_attribute("aria-expanded", "false")
    expect(toggle).to_be_focused()
    expect(sign_up).to_be_hidden()
    page.keyboard.press("Space")
    expect(toggle).to_have_attribute("aria-expanded", "true")
    expect(sign_up).to_be_visible()


def _sign_up_from_the_course(journey: Journey, email: str) -> None:
    from playwright.sync_api import expect

    page = journey.page
    course_url = f"{journey.base}/courses/{COURSE_SLUG}/"
    if journey.device == "phone":
        _phone_menu_by_keyboard(page)
    page.get_by_role("banner").get_by_role("link", name="Sign up").click()
    expect(journey.heading()).to_have_text("Sign Up")
    journey.axe("signup")
    page.get_by_label("Full name").fill(FULL_NAME)
    page.get_by_label("Email", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign Up").click()

    expect(journey.heading()).to_have_text("Enter Email Verification Code")
    expect(page.get_by_role("main")).to_contain_text(email)
    journey.axe("code")
    page.get_by_label("Code").fill(code_sent_to(email))
    page.get_by_role("button", name="Confirm").click()

    # Verified and signed in, back on the course where the journey began.
    page.wait_for_url(course_url)
    expect(page.get_by_role("status")).to_contain_text(f"You have confirmed {email}.")
    expect(journey.heading()).to_have_text(COURSE_TITLE)
    expect(header_links(page).get_by_text(FULL_NAME, exact=True)).to_be_visible()
    page.keyboard.press("Escape")  # the phone menu closes again


def _watch_to_the_end(journey: Journey, lesson: Lesson, *, first: bool) -> None:
    """Play the file video (muted, sped up) until it ends; the heartbeats mark the lesson
    completed on the page, and the sidebar's course progress counts it at once."""
    from playwright.sync_api import expect

    page = journey.page
    sidebar = page.locator(".sidebar-progress .course-progress__text")
    done, total = map(int, re.match(r"(\d+) of (\d+)", sidebar.inner_text()).groups())
    player = page.locator("video#lesson-player")
    expect(player).to_be_visible()
    expect(page.locator("mux-player")).to_have_count(0)
    expect(page.locator("script[src*='mux-player']")).to_have_count(0)
    status = page.locator("#watched-text")
    expect(status).to_have_text(re.compile(r"^Not started · 0\s?% watched$"))
    hint = page.get_by_text("This lesson completes when you have watched 90% of the video.")
    expect(hint).to_be_visible()
    page.wait_for_function("() => document.getElementById('lesson-player').readyState >= 1")
    assert page.evaluate(
        "() => document.getElementById('lesson-player').duration"
    ) == pytest.approx(lesson.duration_seconds, abs=0.5)
    if first:
        journey.axe("file-video lesson")
    with page.expect_response(re.compile(r"/position/$")) as start_beat:
        page.evaluate(
            """(rate) => { const v = document.getElementById('lesson-player');
                v.muted = true; v.playbackRate = rate; v.play(); }""",
            PLAYBACK_RATE,
        )
    assert start_beat.value.status == 200
    page.wait_for_function("() => document.getElementById('lesson-player').ended", timeout=30_000)
    expect(status).to_have_text("Completed", timeout=10_000)
    expect(hint).to_be_hidden()  # it says what is left to do; nothing is
    expect(sidebar).to_have_text(f"{done + 1} of {total} lessons done")
    expect(page.locator(".sidebar-progress progress")).to_have_attribute("value", str(done + 1))
    if first:
        journey.picture("lesson-video")


def _mark_as_complete(journey: Journey, next_title: str) -> None:
    from playwright.sync_api import expect

    page = journey.page
    hint = page.locator("#complete-hint")
    expect(hint).to_be_visible()
    expect(hint).to_have_text(
        f"Marks this lesson done and takes you to the next lesson: {next_title}."
    )
    button = page.get_by_role("button", name="Mark as complete")
    expect(button).to_have_accessible_description(hint.inner_text())
    button.click()
    expect(journey.heading()).to_have_text(next_title)
    expect(page.locator(".flash-list")).to_contain_text("Lesson completed.")


def _answer(page, *, pause: str, foot: str, beats: str) -> None:
    quiz = page.locator("#quiz form")
    quiz.get_by_role("group", name=re.compile(r"^Question 1")).get_by_label(pause).check()
    quiz.get_by_role("group", name=re.compile(r"^Question 2")).get_by_label(
        foot, exact=True
    ).check()
    quiz.get_by_role("group", name=re.compile(r"^Question 3")).get_by_label("Your answer").fill(
        beats
    )


def _fail_then_pass_the_quiz(journey: Journey, next_title: str) -> None:
    from playwright.sync_api import expect

    page = journey.page
    quiz = page.locator("#quiz")
    expect(quiz.get_by_text("You have 3 attempts to pass.")).to_be_visible()
    expect(page.locator(".lesson__notes")).to_contain_text("you have three attempts")
    # Not one right answer: none of them, nor why, may show afterwards.
    _answer(page, pause="1 and 5", foot="Right", beats="six")
    quiz.get_by_role("button", name="Submit answers").click()
    expect(quiz.get_by_role("heading", name=re.compile("^Your last attempt"))).to_have_text(
        "Your last attempt: 0%. Not yet: the pass mark is 70%."
    )
    expect(quiz.locator(".quiz-result__points")).to_have_text("0 of 3 points.")
    expect(quiz.locator(".quiz-result__left")).to_have_text("You have 2 attempts left.")
    expect(quiz.get_by_text("Pass mark 70%", exact=True)).to_be_visible()
    expect(quiz.get_by_text("Attempts used: 1 of 3 (2 left).")).to_be_visible()
    expect(quiz.locator(".quiz-feedback")).to_have_count(0)
    html = page.content()
    for hidden in (*EXPLANATIONS, "Correct answer", "not quite", "correct"):
        assert hidden not in html, hidden
    journey.axe("quiz after a failed attempt")

    _answer(page, pause="4 and 8", foot="Left", beats=" Eight ")
    quiz.get_by_role("button", name="Submit again").click()
    expect(page.locator(".flash-list .flash--success")).to_have_text(
        re.compile(r"^Passed: 100%\. \+\d+ XP$")
    )
    expect(quiz.get_by_role("heading", name=re.compile("^You passed"))).to_have_text(
        "You passed this quiz: best score 100%."
    )
    # Passed: now the answers and why; the next lesson is the one primary action in sight
    # (the retake form's button is folded away).
    expect(quiz.locator(".quiz-feedback__item--right")).to_have_count(3)
    expect(quiz).to_contain_text(EXPLANATIONS[0])
    primary = page.get_by_role("main").locator(".btn--primary:visible")
    expect(primary).to_have_count(1)
    expect(primary).to_have_text(f"Next lesson: {next_title}")
    expect(quiz.get_by_role("button", name="Submit again")).to_be_hidden()
    journey.axe("quiz after passing")
    primary.click()
    expect(journey.heading()).to_have_text(next_title)


def _assert_rows(learner: User, course: Course, lessons: list[Lesson]) -> None:
    rows = {row.lesson_id: row for row in LessonProgress.objects.filter(user=learner)}
    assert {lesson.pk: rows[lesson.pk].status for lesson in lessons} == {
        lesson.pk: LessonProgress.Status.COMPLETED for lesson in lessons
    }
    threshold = settings.LMS_VIDEO_COMPLETE_THRESHOLD
    for lesson in lessons:
        if lesson.kind == Lesson.Kind.VIDEO:  # credited by the heartbeats, not by a click
            assert rows[lesson.pk].watched_seconds >= lesson.duration_seconds * threshold
    attempts = QuizAttempt.objects.filter(user=learner).order_by("created_at")
    assert [(a.score, a.passed) for a in attempts] == [(0, False), (100, True)]
    certificate = Certificate.objects.get(user=learner, course=course)
    assert certificate.learner_name == FULL_NAME


@pytest.mark.parametrize(("device", "options"), VARIANTS)
def test_newcomer_signs_up_watches_every_video_passes_the_quiz_and_gets_a_named_certificate(
    browser, live_server, demo_school, device, options
):
    from playwright.sync_api import expect

    assert PLAYBACK_RATE <= settings.LMS_VIDEO_MAX_PLAYBACK_RATE
    course = demo_school
    lessons = list(
        Lesson.objects.filter(section__course=course).order_by("section__order", "order")
    )
    kinds = {lesson.kind for lesson in lessons}
    assert {Lesson.Kind.VIDEO, Lesson.Kind.QUIZ, Lesson.Kind.TEXT} <= kinds
    email = f"ana.{device}@example.com"
    base = live_server.url
    page = browser.new_page(**options)
    journey = Journey(page, base, device)

    # A visitor finds the course in the catalog.
    page.goto(f"{base}/courses/")
    page.get_by_role("main").get_by_role("link", name=COURSE_TITLE).first.click()
    page.wait_for_url(f"{base}/courses/{COURSE_SLUG}/")
    expect(journey.heading()).to_have_text(COURSE_TITLE)
    expect(page.get_by_role("complementary", name="Start learning")).to_be_visible()
    journey.axe("course page, signed out")
    journey.picture("course-page")

    _sign_up_from_the_course(journey, email)
    learner = User.objects.get(email=email)
    assert learner.display_name == FULL_NAME

    aside = page.get_by_role("complementary", name="Start learning")
    expect(aside.locator(".btn--primary")).to_have_count(1)
    aside.get_by_role("button", name="Enroll and start").click()
    expect(page.locator(".flash-list")).to_contain_text(f"You are enrolled in {COURSE_TITLE}.")

    videos = 0
    for number, lesson in enumerate(lessons):
        next_title = lessons[number + 1].title if number + 1 < len(lessons) else None
        page.wait_for_url(f"{base}{lesson.get_absolute_url()}")
        expect(journey.heading()).to_have_text(lesson.title)
        if lesson.kind == Lesson.Kind.VIDEO:
            _watch_to_the_end(journey, lesson, first=videos == 0)
            videos += 1
            pager = page.get_by_role("navigation", name="Previous and next lesson")
            pager.locator("a.pager__link--next").click()
        elif lesson.kind == Lesson.Kind.QUIZ:
            _fail_then_pass_the_quiz(journey, next_title)
        else:
            _mark_as_complete(journey, next_title)
    assert videos == sum(lesson.kind == Lesson.Kind.VIDEO for lesson in lessons) >= 4

    # The last lesson's pager led back to the course: completed, with the certificate.
    page.wait_for_url(f"{base}/courses/{COURSE_SLUG}/")
    total = len(lessons)
    expect(page.locator(".course-progress__text")).to_have_text(f"{total} of {total} lessons done")
    expect(aside.get_by_text("Course completed", exact=True)).to_be_visible()
    journey.axe("course page, completed")

    header_links(page).get_by_role("link", name="My learning").click()
    expect(journey.heading()).to_have_text("My learning")
    completed = page.get_by_role("region", name="Completed", exact=True)
    expect(completed.get_by_role("heading", name=COURSE_TITLE)).to_be_visible()
    journey.axe("/learn/")

    completed.get_by_role("link", name=re.compile("^View certificate")).click()
    page.wait_for_url(re.compile(r"/certificates/[^/]+/$"))
    expect(journey.heading()).to_have_text("Certificate of completion")
    expect(page.locator(".certificate__name")).to_have_text(FULL_NAME)
    expect(page.locator(".certificate__course")).to_have_text(COURSE_TITLE)
    certificate = Certificate.objects.get(user=learner, course=course)
    expect(page.locator(".certificate__code")).to_have_text(certificate.code)
    main = page.get_by_role("main")
    expect(main).not_to_contain_text(email)
    expect(main).not_to_contain_text(email.split("@")[0])
    journey.axe("certificate")

    _assert_rows(learner, course, lessons)
    assert {page: found for page, found in journey.violations.items() if found} == {}
    assert len(journey.violations) == 9
    page.close()
