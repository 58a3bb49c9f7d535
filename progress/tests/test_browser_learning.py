"""A learner's whole course in real headless Chromium: enroll, complete a lesson, fail and then
pass a quiz, watch progress and XP grow on "My learning", finish the course and open the
certificate and its PDF.

Everything is asserted on what the learner sees (visible text, progress bars, links). The
journey runs on a desktop, a 390px-wide phone and a dark desktop; on each the lesson page with
its quiz feedback, the dashboard and the certificate must not scroll sideways, and screenshots
land in /tmp/screens (LMS_SCREENSHOT_DIR) for a human look at the design.
"""

import re

import pytest

from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import (
    CourseFactory,
    LessonFactory,
    SectionFactory,
    quiz_with_questions,
)
from lms.tests.browser import SCREEN_VARIANTS, assert_fits, header_links, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "ana@example.com"
PASSWORD = "correct-horse-battery"  # UserFactory's password
LEARNER_NAME = "Ana Lucía Torres"
COURSE_TITLE = "Bachata Timing Essentials"
EXPLANATION = "Because the beat says so."  # the factory's explanation of every question
XP_TEXT = re.compile(r"^\s*(\d+) XP · Level \d+")


@pytest.fixture
def course(transactional_db) -> Course:
    """A public course of three lessons: a text lesson, a quiz, and a closing text lesson."""
    course = CourseFactory(
        title=COURSE_TITLE,
        slug="bachata-timing",
        subtitle="Hear the one, count the eight",
        description="Find the **one** and stay on it.",
    )
    section = SectionFactory(course=course, title="On the beat", order=0)
    LessonFactory(
        section=section,
        title="Counting the basic",
        slug="counting-the-basic",
        order=0,
        body="Step on **1, 2, 3** and tap on **4**.",
    )
    quiz_lesson = LessonFactory(
        section=section,
        title="Timing check",
        slug="timing-check",
        kind=Lesson.Kind.QUIZ,
        order=1,
        body="Three questions on what you just learned.",
    )
    quiz_with_questions(lesson=quiz_lesson, pass_mark=70)
    LessonFactory(
        section=section,
        title="Putting it together",
        slug="putting-it-together",
        order=2,
        body="Dance a full phrase of **eight counts** without stopping.",
    )
    return course


def _expect_course_progress(page, done: int, total: int, percent: int) -> None:
    """The course's progress box (course page, or a lesson's sidebar): its text and its bar."""
    from playwright.sync_api import expect

    box = page.locator(".course-progress")
    expect(box).to_have_count(1)
    text = f"{done} of {total} lessons done"
    expect(box.locator(".course-progress__text")).to_have_text(text)
    bar = box.get_by_role("progressbar", name=text)
    expect(bar).to_be_visible()
    expect(bar).to_have_attribute("value", str(done))
    expect(bar).to_have_attribute("max", str(total))


def _flash(page):
    return page.locator(".flash-list")


def _xp_on_dashboard(page) -> int:
    """The XP number the learner reads on "My learning"."""
    from playwright.sync_api import expect

    value = page.locator("#level-text")
    expect(value).to_have_text(XP_TEXT)
    return int(XP_TEXT.match(value.inner_text().strip()).group(1))


def _open_dashboard(page) -> None:
    from playwright.sync_api import expect

    header_links(page).get_by_role("link", name="My learning").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My learning")


def _expect_dashboard_card(page, done: int, total: int, percent: int) -> None:
    from playwright.sync_api import expect

    section = page.get_by_role("region", name="In progress", exact=True)
    card = section.get_by_role("listitem").filter(has_text=COURSE_TITLE)
    expect(card).to_have_count(1)
    expect(card.locator(".learn-course__count")).to_have_text(f"{done} of {total} lessons done")
    expect(card.locator(".meter__percent")).to_have_text(f"{percent}%")
    bar = card.get_by_role("progressbar", name=f"Progress in {COURSE_TITLE}")
    expect(bar).to_have_attribute("value", str(done))
    expect(bar).to_have_attribute("max", str(total))


def _answer_quiz(page, *, single: str, multiple: list[str], short: str) -> None:
    quiz = page.locator("#quiz form")
    quiz.get_by_role("group", name=re.compile(r"^Question 1")).get_by_label(
        single, exact=True
    ).check()
    group = quiz.get_by_role("group", name=re.compile(r"^Question 2"))
    for text in multiple:
        group.get_by_label(text, exact=True).check()
    quiz.get_by_role("group", name=re.compile(r"^Question 3")).get_by_label("Your answer").fill(
        short
    )


def _screenshot(page, name: str) -> None:
    """A full-page screenshot from the top: scrolled to #quiz, the sticky header would be
    drawn in the middle of the picture."""
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, name)


def _feedback(page, number: int):
    return page.locator(".quiz-feedback__item").nth(number - 1)


@pytest.mark.parametrize(("device", "options"), SCREEN_VARIANTS)
def test_learner_completes_a_course_with_a_quiz_and_gets_a_certificate(
    browser, live_server, course, device, options
):
    from playwright.sync_api import expect

    UserFactory(email=EMAIL, display_name=LEARNER_NAME, verified_email=True)
    base = live_server.url
    page = browser.new_page(**options)
    sign_in(page, base, email=EMAIL, password=PASSWORD)

    # "My learning" before anything: no course yet, no XP.
    _open_dashboard(page)
    expect(page.get_by_role("heading", name="You have not started a course yet")).to_be_visible()
    xp_at_start = _xp_on_dashboard(page)
    assert xp_at_start == 0

    # The catalog leads to the course; a signed-in learner enrolls with one click.
    page.get_by_role("link", name="Browse the catalog").click()
    page.get_by_role("link", name=COURSE_TITLE).first.click()
    page.wait_for_url(f"{base}/courses/bachata-timing/")
    expect(page.get_by_role("heading", level=1)).to_have_text(COURSE_TITLE)
    expect(page.locator(".course-progress")).to_have_count(0)
    aside = page.get_by_role("complementary", name="Start learning")
    expect(aside.locator(".btn--primary")).to_have_count(1)  # one main action
    aside.get_by_role("button", name="Enroll and start").click()
    # Enrolling starts the course: straight on to its first lesson.
    page.wait_for_url(f"{base}/courses/bachata-timing/counting-the-basic/")
    expect(_flash(page)).to_contain_text(f"You are enrolled in {COURSE_TITLE}.")

    # A text lesson: "Mark as complete" says where it leads, moves the bar, and leads there.
    expect(page.get_by_role("heading", level=1)).to_have_text("Counting the basic")
    _expect_course_progress(page, 0, 3, 0)
    expect(page.get_by_role("button", name="Mark as complete")).to_have_accessible_description(
        "Marks this lesson done and takes you to the next lesson: Timing check."
    )
    page.get_by_role("button", name="Mark as complete").click()
    page.wait_for_url(f"{base}/courses/bachata-timing/timing-check/")
    expect(_flash(page)).to_contain_text("Lesson completed. +10 XP")
    expect(page.get_by_role("heading", level=1)).to_have_text("Timing check")
    _expect_course_progress(page, 1, 3, 33)
    expect(page.get_by_role("button", name="Mark as complete")).to_have_count(0)  # a quiz

    # Before any attempt the page holds the questions and choices, never what is right.
    quiz = page.locator("#quiz")
    expect(quiz.get_by_role("heading", name="Answer the questions")).to_be_visible()
    expect(quiz.get_by_role("group")).to_have_count(3)
    html = page.content()
    assert not re.search(r"\beight\b", html, re.IGNORECASE)  # the accepted short answer
    assert EXPLANATION not in html
    assert "Correct answer" not in html
    form_html = quiz.locator("form").inner_html()
    assert "correct" not in form_html.lower()
    # A right choice's input looks exactly like a wrong one's, apart from its id and value.
    for number in (1, 2):
        group = quiz.get_by_role("group", name=re.compile(rf"^Question {number}"))
        attributes = group.locator("input").evaluate_all(
            "inputs => inputs.map(input => [...input.attributes]"
            ".filter(a => a.name !== 'id' && a.name !== 'value')"
            ".map(a => `${a.name}=${a.value}`).sort().join(' '))"
        )
        assert len(attributes) == 3 and len(set(attributes)) == 1, attributes

    # "My learning" now: the course at 1 of 3, and the XP before the quiz.
    _open_dashboard(page)
    _expect_dashboard_card(page, 1, 3, 33)
    xp_before_quiz = _xp_on_dashboard(page)
    assert xp_before_quiz == xp_at_start + 10
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text("Timing check")

    # A failing attempt: only the first question right.
    _answer_quiz(page, single="Four", multiple=["Left", "Blue"], short="seven")
    quiz.get_by_role("button", name="Submit answers").click()
    expect(_flash(page)).to_contain_text("Not yet: 33%. Pass mark 70%. You have 2 attempts left.")
    expect(quiz.get_by_role("heading", name=re.compile("^Your last attempt"))).to_have_text(
        "Your last attempt: 33%. Not yet: the pass mark is 70%."
    )
    expect(quiz.locator(".quiz-result__points")).to_have_text("1 of 3 points.")
    expect(quiz.locator(".quiz-result__left")).to_have_text("You have 2 attempts left.")
    # Attempts are left: nothing says which answer was right, or why.
    expect(quiz.locator(".quiz-feedback__item")).to_have_count(0)
    html = page.content()
    assert EXPLANATION not in html
    assert "Correct answer" not in html
    assert "not quite" not in html
    expect(quiz.get_by_text("Best score 33%")).to_be_visible()
    _expect_course_progress(page, 1, 3, 33)  # a failed quiz completes nothing
    expect(quiz.get_by_role("heading", name="Try again")).to_be_visible()
    assert_fits(page)
    _screenshot(page, f"learning-quiz-failed-{device}")

    # A passing attempt: every answer right (a short answer in any case and spacing).
    _answer_quiz(page, single="Four", multiple=["Left", "Right"], short="  Eight ")
    quiz.get_by_role("button", name="Submit again").click()
    flash = _flash(page).locator(".flash--success")
    expect(flash).to_have_text(re.compile(r"^Passed: 100%\. \+\d+ XP$"))
    quiz_xp = int(re.search(r"\+(\d+) XP", flash.inner_text()).group(1))
    assert quiz_xp > 0
    expect(quiz.get_by_role("heading", name=re.compile("^You passed"))).to_have_text(
        "You passed this quiz: best score 100%."
    )
    # Passed: the answers are shown, the next lesson is the one primary action, and the
    # retake form is folded away.
    expect(quiz.locator(".quiz-feedback__item--right")).to_have_count(3)
    expect(_feedback(page, 3)).to_contain_text(EXPLANATION)
    expect(quiz.locator("a.btn--primary")).to_have_text("Next lesson: Putting it together")
    expect(quiz.get_by_role("button", name="Submit again")).to_be_hidden()
    expect(quiz.locator("details.quiz-retake")).not_to_have_attribute("open", "")
    expect(quiz.get_by_text("Passed", exact=True)).to_be_visible()
    expect(quiz.get_by_text("Best score 100%", exact=True)).to_be_visible()
    _expect_course_progress(page, 2, 3, 66)
    assert_fits(page)
    _screenshot(page, f"learning-quiz-passed-{device}")

    # "My learning": the bar moved on and the XP grew by what the quiz said it gave.
    _open_dashboard(page)
    _expect_dashboard_card(page, 2, 3, 66)
    xp_after_quiz = _xp_on_dashboard(page)
    assert xp_after_quiz == xp_before_quiz + quiz_xp > xp_before_quiz
    expect(page.get_by_text("Today counts: you have learned today.")).to_be_visible()
    assert_fits(page)
    _screenshot(page, f"learning-dashboard-{device}")

    # The last lesson finishes the course.
    page.get_by_role("link", name=COURSE_TITLE, exact=True).click()
    page.wait_for_url(f"{base}/courses/bachata-timing/")
    _expect_course_progress(page, 2, 3, 66)
    page.get_by_role("main").get_by_role(
        "link", name=re.compile("^Putting it together")
    ).first.click()
    page.wait_for_url(f"{base}/courses/bachata-timing/putting-it-together/")
    page.get_by_role("button", name="Mark as complete").click()
    page.wait_for_url(f"{base}/courses/bachata-timing/putting-it-together/")
    expect(_flash(page)).to_contain_text("Lesson completed. +10 XP")
    expect(_flash(page)).to_contain_text("Course completed!")
    _expect_course_progress(page, 3, 3, 100)
    expect(page.locator(".lesson-status")).to_contain_text("Completed")
    expect(page.locator(".sidebar-progress")).to_contain_text("Course completed")
    assert_fits(page)
    _screenshot(page, f"learning-lesson-completed-{device}")

    # The course page says so, and leads to the certificate.
    page.get_by_role("link", name="Back to the course").click()
    page.wait_for_url(f"{base}/courses/bachata-timing/")
    _expect_course_progress(page, 3, 3, 100)
    expect(aside.get_by_text("Course completed", exact=True)).to_be_visible()
    aside.get_by_role("link", name="View your certificate").click()
    page.wait_for_url(re.compile(r"/certificates/[^/]+/$"))
    certificate_url = page.url
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of completion")
    expect(page.locator(".certificate__name")).to_have_text(LEARNER_NAME)
    expect(page.locator(".certificate__course")).to_have_text(COURSE_TITLE)
    expect(page.get_by_text("This is your certificate.", exact=False)).to_be_visible()
    expect(page.get_by_role("main")).not_to_contain_text(EMAIL)
    assert_fits(page)
    _screenshot(page, f"learning-certificate-{device}")

    # The PDF: a real PDF, offered as a download.
    pdf_link = page.get_by_role("link", name="Download PDF")
    response = page.request.get(pdf_link.evaluate("link => link.href"))
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF-")
    with page.expect_download() as download_info:
        pdf_link.click()
    assert download_info.value.suggested_filename.endswith(".pdf")

    # "My learning" at the end: the course completed, its certificate listed, more XP.
    page.goto(f"{base}/courses/")
    _open_dashboard(page)
    expect(page.get_by_role("region", name="In progress", exact=True)).to_have_count(0)
    completed = page.get_by_role("region", name="Completed", exact=True)
    expect(completed.get_by_role("heading", name=COURSE_TITLE)).to_be_visible()
    expect(page.get_by_text("1 course completed · 1 certificate")).to_be_visible()
    certificates = page.get_by_role("region", name="Certificates")
    expect(certificates.get_by_role("link", name=COURSE_TITLE)).to_have_attribute(
        "href", certificate_url.removeprefix(base)
    )
    assert _xp_on_dashboard(page) > xp_after_quiz
    assert_fits(page)
    _screenshot(page, f"learning-dashboard-completed-{device}")
    completed.get_by_role("link", name=re.compile("^View certificate")).click()
    page.wait_for_url(certificate_url)
    expect(page.locator(".certificate__name")).to_have_text(LEARNER_NAME)
    page.close()
