"""The discussion pages in Chromium: a learner asks a question and replies through the
forms, and the list, thread and edit pages have no serious accessibility violations."""

import pytest

from accounts.tests.factories import UserFactory
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from community.models import Reply, Thread
from lms.tests.browser import DESKTOP, axe_serious_violations, sign_in

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"


def test_a_learner_asks_and_replies_and_the_pages_are_accessible(browser, live_server):
    learner = UserFactory(email="ana@example.com", display_name="Ana", verified_email=True)
    lesson = LessonFactory(section=SectionFactory(course=CourseFactory()), title="Basic step")
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, base, email=learner.email, password=PASSWORD)
    found = {}

    page.goto(f"{base}{lesson.get_absolute_url()}")
    page.get_by_role("link", name="Ask a question").click()
    found["list"] = axe_serious_violations(page)
    page.get_by_label("Title").fill("Which foot first?")
    page.get_by_label("Your question or topic").fill("Left or **right**?")
    page.get_by_role("button", name="Post the question").click()
    page.wait_for_url(f"**/discussion/{Thread.objects.get().pk}/")
    page.get_by_label("Your reply").fill("Answering myself: left.")
    page.get_by_role("button", name="Post the reply").click()
    page.wait_for_load_state()
    found["thread"] = axe_serious_violations(page)
    page.get_by_role("link", name="Edit").first.click()
    found["edit"] = axe_serious_violations(page)

    assert page.locator("h1").inner_text() == "Edit your post"
    assert Reply.objects.get().body == "Answering myself: left."
    assert {name: items for name, items in found.items() if items} == {}
    page.close()
