"""A learner meets a course's structure rules in real headless Chromium: a section locked until
another is completed says so on the course page and on its lesson's page; completing the
prerequisite with the page's own button opens it, with no reload tricks and no fixed waits."""

import pytest

from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import DESKTOP, assert_fits, axe_serious_violations, screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "lia@example.com"
PASSWORD = "correct-horse-battery"  # UserFactory's password


@pytest.fixture
def course(transactional_db) -> Course:
    """ "Salsa": Basics (one text lesson), then Turns, which needs Basics completed."""
    course = CourseFactory(title="Salsa", slug="salsa")
    basics = SectionFactory(course=course, order=0, title="Basics")
    turns = SectionFactory(course=course, order=1, title="Turns")
    turns.prerequisites.add(basics)
    LessonFactory(section=basics, order=0, title="Step 1", slug="step-1")
    LessonFactory(section=turns, order=0, title="Turn 1", slug="turn-1", body="Spin on **5**.")
    return course


def _section(page, title: str):
    """The course page's outline section titled `title`."""
    return page.locator("details.outline-section").filter(
        has=page.locator(".outline-section__title", has_text=title)
    )


def test_a_locked_section_says_why_and_opens_once_its_prerequisite_is_completed(
    browser, live_server, course
):
    from playwright.sync_api import expect

    UserFactory(email=EMAIL, verified_email=True)
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, base, email=EMAIL, password=PASSWORD)

    # The course page: Turns is locked, and says what to complete first.
    page.goto(f"{base}/courses/salsa/")
    turns = _section(page, "Turns")
    expect(turns.locator("summary")).to_contain_text("Locked")
    expect(turns.locator("summary .lock-reason")).to_have_text("Complete “Basics” first")
    expect(_section(page, "Basics").locator(".section-lock")).to_have_count(0)
    assert_fits(page)
    assert axe_serious_violations(page) == []  # the lock is in words, not colour alone
    screenshot(page, "structure-course-locked")

    # Opening its lesson early: a locked page with the reason, not a sign-in or plan prompt.
    page.goto(f"{base}/courses/salsa/turn-1/")
    expect(page.get_by_role("heading", name="This lesson is locked")).to_be_visible()
    expect(page.locator(".locked-panel__reason")).to_have_text("Complete “Basics” first")
    expect(page.get_by_text("Spin on")).to_have_count(0)
    screenshot(page, "structure-lesson-locked")

    # Enroll, complete Basics with the lesson's own button: on to Turn 1, now open.
    page.locator(".locked-panel").get_by_role("link", name="Back to the course").click()
    page.get_by_role("complementary", name="Start learning").get_by_role(
        "button", name="Enroll and start"
    ).click()
    page.wait_for_url(f"{base}/courses/salsa/step-1/")
    pager = page.get_by_role("navigation", name="Previous and next lesson")
    expect(pager).to_contain_text("Complete “Basics” first")
    page.get_by_role("button", name="Mark as complete").click()
    page.wait_for_url(f"{base}/courses/salsa/turn-1/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Turn 1")
    expect(page.get_by_text("Spin on")).to_be_visible()

    # Back on the course page, Turns reads open.
    page.goto(f"{base}/courses/salsa/")
    turns = _section(page, "Turns")
    expect(turns.locator(".section-lock")).to_have_count(0)
    expect(turns.locator(".outline-lesson.is-locked")).to_have_count(0)
