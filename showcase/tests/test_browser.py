"""Must show 3: /projects/ in real headless Chromium, on a desktop screen and on a 390px
phone: a visitor sees the cards, filters by tag and course, searches, and opens a project's
page (its detail, tags, links and course); the pages fit the screen and pass axe's serious
checks. A learner then submits a project through the form and finds it under "My
projects", waiting for review. Screenshots land in /tmp/screens for a human look."""

import re

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory
from lms.tests.browser import (
    DESKTOP,
    PHONE_OPTIONS,
    assert_fits,
    axe_serious_violations,
    header_links,
    screenshot,
    sign_in,
)
from progress.tests.factories import EnrollmentFactory
from showcase.models import Project
from showcase.services import project_thumbnail_set
from showcase.tests.factories import ProjectFactory, ProjectLinkFactory, TagFactory, picture
from showcase.thumbnails import thumbnail_from_upload

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENS = [("desktop", {"viewport": DESKTOP}), ("phone", PHONE_OPTIONS)]


@pytest.fixture
def showcase(transactional_db) -> dict:
    staff = UserFactory(email="sam@example.com", is_staff=True, is_superuser=True)
    python_course = CourseFactory(title="Python for Beginners", slug="python-for-beginners")
    salsa_course = CourseFactory(title="Salsa Foundations", slug="salsa-foundations")
    python, games = TagFactory(name="Python", slug="python"), TagFactory(name="Games", slug="games")
    salsa = TagFactory(name="Salsa", slug="salsa")
    lee = UserFactory(email="lee@example.com", display_name="Lee Park", verified_email=True)
    EnrollmentFactory(user=lee, course=python_course)
    game = ProjectFactory(
        title="Number guessing game",
        slug="number-guessing-game",
        summary="The computer picks a number and says warmer or colder.",
        detail="Made after the lesson on **variables**.\n\n- a `while` loop\n- `random`",
        author=lee,
        course=python_course,
        tags=[python, games],
    )
    project_thumbnail_set(actor=staff, project=game, thumbnail=thumbnail_from_upload(picture()))
    ProjectLinkFactory(project=game, label="Source code", url="https://example.com/guess")
    ProjectFactory(
        title="Spring recital",
        summary="Twelve learners dance the final routine live.",
        detail="Our recital.",
        origin=Project.Origin.STAFF,
        author=staff,
        course=salsa_course,
        tags=[salsa],
    )
    for number in range(3):
        ProjectFactory(
            title=f"Practice log {number + 1}",
            summary="A week of practice, written down.",
            tags=[salsa],
        )
    ProjectFactory(title="Secret work in progress", submitted=True)
    return {"lee": lee, "game": game}


@pytest.mark.parametrize(("device", "options"), SCREENS)
def test_a_visitor_browses_filters_searches_and_opens_a_project(
    browser, live_server, showcase, device, options
):
    from playwright.sync_api import expect

    page = browser.new_page(**options)
    page.goto(f"{live_server.url}/")
    header_links(page).get_by_role("link", name="Projects").click()
    page.wait_for_url(f"{live_server.url}/projects/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Projects")
    expect(page.get_by_role("heading", name="5 projects")).to_be_visible()
    cards = page.locator(".project-card")
    expect(cards).to_have_count(5)
    expect(page.get_by_text("Secret work in progress")).to_have_count(0)
    assert_fits(page)
    assert axe_serious_violations(page) == []
    screenshot(page, f"projects-{device}")

    page.get_by_label("Tag", exact=True).select_option("python")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"tag=python"))
    expect(page.get_by_role("heading", name="1 project")).to_be_visible()
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Number guessing game")
    expect(cards.first).to_contain_text("By Lee Park")

    page.get_by_role("link", name="Clear").click()
    page.get_by_label("Course", exact=True).select_option("salsa-foundations")
    page.get_by_role("searchbox", name="Search").fill("recital")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"q=recital"))
    expect(cards).to_have_count(1)
    expect(cards.first).to_contain_text("Spring recital")
    expect(cards.first).to_contain_text("By the school")

    page.get_by_role("searchbox", name="Search").fill("tango")
    page.get_by_label("Course", exact=True).select_option("")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("heading", name="No projects match your search")).to_be_visible()

    page.goto(f"{live_server.url}/projects/")
    page.get_by_role("link", name="Number guessing game").click()
    page.wait_for_url(f"{live_server.url}/projects/number-guessing-game/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Number guessing game")
    expect(page.get_by_text("Made after the lesson on variables")).to_be_visible()
    expect(page.locator(".project__detail strong")).to_have_text("variables")
    about = page.get_by_role("complementary", name="About this project")
    expect(about.get_by_role("link", name="Python", exact=True)).to_be_visible()
    expect(about.get_by_role("link", name="Source code")).to_have_attribute(
        "href", "https://example.com/guess"
    )
    expect(about.get_by_role("link", name="Python for Beginners")).to_have_attribute(
        "href", "/courses/python-for-beginners/"
    )
    picture_box = page.locator(".project__media img").bounding_box()
    assert picture_box is not None and picture_box["width"] > 200
    assert_fits(page)
    assert axe_serious_violations(page) == []
    screenshot(page, f"project-{device}")

    about.get_by_role("link", name="Games").click()
    page.wait_for_url(re.compile(r"/projects/\?tag=games"))
    expect(cards).to_have_count(1)
    page.close()


def test_a_learner_submits_a_project_on_a_phone_and_finds_it_waiting(
    browser, live_server, showcase
):
    from playwright.sync_api import expect

    page = browser.new_page(**PHONE_OPTIONS)
    sign_in(page, live_server.url, email="lee@example.com", password="correct-horse-battery")
    page.goto(f"{live_server.url}/projects/")
    page.get_by_role("link", name="Submit a project").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Submit a project")

    page.get_by_label("Title", exact=True).fill("Tic-tac-toe")
    page.get_by_label("Summary", exact=True).fill("Two players, one terminal.")
    page.get_by_label("Course", exact=True).select_option("python-for-beginners")
    page.get_by_label("Python").check()
    page.get_by_label("About the project").fill("Uses a **list of lists** for the board.")
    page.get_by_label("Label 1").fill("Code")
    page.get_by_label("Address 1").fill("javascript:alert(1)")
    assert_fits(page)
    screenshot(page, "project-form-phone")
    page.get_by_role("button", name="Submit for review").click()

    # A link that is no web address comes back beside its field; nothing else is lost.
    expect(page.get_by_text("Please fix the fields marked below.")).to_be_visible()
    expect(page.get_by_label("Title", exact=True)).to_have_value("Tic-tac-toe")
    page.get_by_label("Address 1").fill("https://example.com/tic-tac-toe")
    page.get_by_role("button", name="Submit for review").click()

    page.wait_for_url(f"{live_server.url}/projects/tic-tac-toe/")
    expect(page.get_by_text("Thank you! Staff review your project")).to_be_visible()
    expect(page.get_by_text("Only you and the school's staff see this page")).to_be_visible()
    assert_fits(page)

    page.goto(f"{live_server.url}/projects/mine/")
    mine = page.locator(".my-project")
    expect(mine).to_have_count(2)
    expect(mine.first).to_contain_text("Tic-tac-toe")
    expect(mine.first).to_contain_text("Waiting for review")
    assert_fits(page)
    assert axe_serious_violations(page) == []
    screenshot(page, "my-projects-phone")
    project = Project.objects.get(slug="tic-tac-toe")
    assert (project.status, project.author.email) == ("submitted", "lee@example.com")
    page.close()
