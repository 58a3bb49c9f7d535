"""A learner's journey through the site in real headless Chromium (Debian's, via Playwright).

Besides asserting what the learner sees, it saves screenshots of the catalog and a course page
on desktop and on a 390px-wide phone to /tmp/screens, for a human look at the design.
"""

import re

import pytest

from catalog.models import Course
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import (
    DESKTOP,
    PHONE_OPTIONS,
    SCREEN_VARIANTS,
    assert_fits,
    header_links,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def school(transactional_db) -> Course:
    """A small catalog: the course the journey follows and a few others around it."""
    course = CourseFactory(
        title="Salsa Footwork Foundations",
        slug="salsa-footwork",
        subtitle="Clean basics, shines and timing on 1",
        description=(
            "Build **solid footwork** from the basic step to your first shines.\n\n"
            "- Timing on 1\n- Weight changes\n- Three shines to practise"
        ),
        course_type=Course.CourseType.COURSE,
        difficulty=Course.Difficulty.BEGINNER,
    )
    basics = SectionFactory(course=course, title="The basic step", order=0)
    shines = SectionFactory(course=course, title="First shines", order=1)
    LessonFactory(
        section=basics,
        title="Finding the beat",
        slug="finding-the-beat",
        kind="video",
        duration_seconds=420,
        order=0,
        is_free_preview=True,
        body="Listen for the **conga** and count *1, 2, 3 — 5, 6, 7*.",
    )
    LessonFactory(
        section=basics,
        title="Forward and back",
        slug="forward-and-back",
        duration_seconds=360,
        order=1,
        body="Break forward on **1**, replace on 2, close on 3.",
    )
    LessonFactory(
        section=shines,
        title="Suzie Q",
        slug="suzie-q",
        duration_seconds=540,
        order=0,
        body="Cross, open, cross: the *Suzie Q* travels sideways.",
    )
    LessonFactory(
        section=shines,
        title="Shine challenge",
        slug="shine-challenge",
        kind="quiz",
        duration_seconds=300,
        order=1,
        is_boss=True,
    )
    others = [
        ("bachata-sensual", "Bachata Sensual Choreo", Course.CourseType.CHOREO,
         Course.Difficulty.INTERMEDIATE, Course.Visibility.MEMBERS,
         "Waves, body rolls and a full routine"),
        ("musicality", "Musicality for Social Dancers", Course.CourseType.TOPIC,
         Course.Difficulty.ADVANCED, Course.Visibility.PUBLIC,
         "Hear the breaks and play with them"),
        ("salsa-spins", "Salsa Spins and Turns", Course.CourseType.COURSE,
         Course.Difficulty.INTERMEDIATE, Course.Visibility.PUBLIC,
         "Spot, prep and finish every turn cleanly"),
    ]  # fmt: skip
    for index, (slug, title, course_type, difficulty, visibility, subtitle) in enumerate(others):
        other = CourseFactory(
            slug=slug,
            title=title,
            subtitle=subtitle,
            course_type=course_type,
            difficulty=difficulty,
            visibility=visibility,
        )
        section = SectionFactory(course=other, title="Part 1", order=0)
        for number in range(index + 3):
            LessonFactory(
                section=section,
                slug=f"{slug}-{number + 1}",
                title=f"{title}: step {number + 1}",
                order=number,
                duration_seconds=240 + 60 * number,
            )
    return course


def test_learner_searches_opens_a_course_and_walks_through_lessons(browser, live_server, school):
    from playwright.sync_api import expect

    page = browser.new_page(viewport=DESKTOP)
    page.goto(f"{live_server.url}/courses/")
    expect(page.get_by_role("heading", name="Course catalog")).to_be_visible()
    expect(page.get_by_text("4 courses")).to_be_visible()

    page.get_by_role("searchbox", name="Search").fill("footwork")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"/courses/\?q=footwork"))
    expect(page.get_by_text("1 course", exact=False)).to_be_visible()
    expect(page.get_by_role("link", name="Bachata Sensual Choreo")).to_have_count(0)

    page.get_by_role("link", name="Salsa Footwork Foundations").click()
    page.wait_for_url(f"{live_server.url}/courses/salsa-footwork/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Salsa Footwork Foundations")
    expect(page.get_by_text("4 lessons").first).to_be_visible()
    expect(page.get_by_text("solid footwork")).to_be_visible()
    expect(page.get_by_text("First shines", exact=True)).to_be_visible()

    page.get_by_role("link", name="Start course").click()
    page.wait_for_url(f"{live_server.url}/courses/salsa-footwork/finding-the-beat/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Finding the beat")
    expect(page.get_by_text("No video yet")).to_be_visible()
    expect(page.get_by_text("Listen for the conga", exact=False)).to_be_visible()

    page.get_by_role("link", name=re.compile(r"^Next")).click()
    page.wait_for_url(f"{live_server.url}/courses/salsa-footwork/forward-and-back/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Forward and back")

    # The last lesson of the first section leads into the next section.
    page.get_by_role("link", name=re.compile(r"^Next")).click()
    page.wait_for_url(f"{live_server.url}/courses/salsa-footwork/suzie-q/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Suzie Q")
    expect(page.get_by_text("the Suzie Q travels sideways")).to_be_visible()
    current = page.locator('.lesson-sidebar a[aria-current="page"]')
    expect(current).to_have_text("Suzie Q")
    page.close()


@pytest.mark.parametrize(("device", "options"), SCREEN_VARIANTS)
def test_pages_fit_the_screen(browser, live_server, school, device, options):
    from playwright.sync_api import expect

    page = browser.new_page(**options)
    for name, path, heading in (
        ("home", "/", "Learn something new"),
        ("catalog", "/courses/", "Course catalog"),
        ("course", "/courses/salsa-footwork/", "Salsa Footwork Foundations"),
        ("lesson", "/courses/salsa-footwork/forward-and-back/", "Forward and back"),
        ("locked", "/courses/bachata-sensual/bachata-sensual-1/", "Bachata Sensual Choreo: step 1"),
        ("not-found", "/courses/no-such-course/", "We could not find that page"),
    ):
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        # Nothing may force sideways scrolling, least of all on a phone.
        assert_fits(page)
        screenshot(page, f"{name}-{device}")
    page.close()


def test_learner_signs_in_and_the_header_fits_a_phone(browser, live_server, school):
    from playwright.sync_api import expect

    from accounts.tests.factories import UserFactory

    UserFactory(
        email="maria@example.com",
        display_name="Maria Fernanda",
        is_staff=True,
        verified_email=True,  # allauth signs in only verified addresses without a code
    )
    page = browser.new_page(**PHONE_OPTIONS)
    page.goto(f"{live_server.url}/courses/bachata-sensual/bachata-sensual-1/")
    expect(page.get_by_role("heading", name="Sign in to open this lesson")).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="Sign in").click()

    page.get_by_label("Email", exact=True).fill("maria@example.com")
    page.get_by_label("Password", exact=True).fill("correct-horse-battery")
    page.get_by_role("main").get_by_role("button", name="Sign in").click()
    # Back on the lesson, now open.
    page.wait_for_url(f"{live_server.url}/courses/bachata-sensual/bachata-sensual-1/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bachata Sensual Choreo: step 1")
    expect(page.get_by_text("Sign in to open this lesson")).to_have_count(0)
    header = header_links(page)  # the phone's Menu button opens the links
    expect(header.get_by_role("button", name="Sign out")).to_be_visible()
    expect(header.get_by_role("link", name="Admin")).to_be_visible()
    assert_fits(page)  # the signed-in header too
    screenshot(page, "signed-in-phone")

    header.get_by_role("button", name="Sign out").click()
    page.wait_for_url(lambda url: "bachata-sensual-1" not in url)
    expect(header_links(page).get_by_role("link", name="Sign in")).to_be_visible()
    page.close()
