"""The lesson tutor in Chromium: a learner asks on a lesson page and watches the answer stream
in from the loopback fake provider (the real `openai` SDK behind the API's server-sent
events), with links to the lessons it cites; the questions left today go down; the page and
the conversations list have no serious accessibility violation.

A screenshot of the answered panel goes to /tmp/screens (LMS_SCREENSHOT_DIR).
"""

import pytest
from playwright.sync_api import expect

from accounts.tests.factories import UserFactory
from assistant.models import Message
from assistant.tests.fake_llm import Reply
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from lms.tests.browser import (
    DESKTOP,
    PHONE,
    assert_fits,
    axe_serious_violations,
    screenshot,
    sign_in,
)

pytestmark = pytest.mark.browser

PASSWORD = "correct-horse-battery"
CHUNKS = ["Step forward ", "with your left foot ", "on one [1], ", "and keep counting [2]."]


def _cited_reply(body: dict) -> Reply:
    # Cites the second excerpt only when retrieval sent one, so the answer never invents a
    # source: the test then sees exactly the lessons that were in the prompt.
    prompt = "\n".join(str(m.get("content", "")) for m in body.get("messages", []))
    chunks = CHUNKS if "[2] Counting" in prompt else [*CHUNKS[:3], "and keep counting."]
    return Reply(chunks=chunks, chunk_delay=0.4)


def test_a_learner_asks_the_tutor_and_sees_the_answer_stream_in_with_its_sources(
    browser, live_server, fake_llm, settings
):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 3
    fake_llm.respond_with(_cited_reply)
    learner = UserFactory(email="ana@example.com", display_name="Ana", verified_email=True)
    section = SectionFactory(course=CourseFactory(title="Salsa Foundations", slug="salsa"))
    lesson = LessonFactory(
        section=section,
        title="Basic step",
        slug="basic-step",
        body="Step forward with the left foot on one, back on five.",
    )
    LessonFactory(
        section=section,
        title="Counting",
        slug="counting",
        body="Counting the music: keep counting one to eight, and step on one.",
    )
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, base, email=learner.email, password=PASSWORD)
    page.goto(f"{base}{lesson.get_absolute_url()}")
    tutor = page.get_by_role("region", name="Ask the tutor")
    expect(tutor.get_by_text("Questions left today: 3 of 3")).to_be_visible()

    tutor.get_by_label("Your question about this lesson").fill(
        "Which foot first, and how do I keep counting?"
    )
    tutor.get_by_role("button", name="Ask").click()

    answer = tutor.locator(".tutor-message--assistant").last
    # Streamed: the first words show while the rest is still on its way.
    expect(answer.locator(".tutor-message__body[aria-busy=true]")).to_contain_text("Step forward")
    expect(answer).to_contain_text("and keep counting", timeout=10_000)
    expect(answer.locator(".tutor-message__body[aria-busy=true]")).to_have_count(0)
    sources = answer.get_by_role("list")
    expect(sources.get_by_role("link", name="Basic step")).to_have_attribute(
        "href", lesson.get_absolute_url()
    )
    stored = Message.objects.get(role=Message.Role.ASSISTANT)
    cited = [citation["title"] for citation in stored.citations]
    expect(sources.get_by_role("link")).to_have_count(len(cited))
    assert cited == ["Basic step", "Counting"]  # the lesson, and the one retrieval matched
    expect(tutor.get_by_text("Questions left today: 2 of 3")).to_be_visible()
    expect(tutor.get_by_text("Which foot first, and how do I keep counting?")).to_be_visible()
    screenshot(page, "tutor-answer-desktop")
    found = {"lesson": axe_serious_violations(page)}
    page.set_viewport_size(PHONE)
    assert_fits(page)  # the answer, its sources and the form fit a phone
    page.set_viewport_size(DESKTOP)

    # The answer is kept: after a reload it is on the page, and in the learner's list.
    page.reload()
    expect(tutor.get_by_text("Questions left today: 2 of 3")).to_be_visible()
    expect(tutor.locator(".tutor-message--assistant")).to_contain_text("keep counting")
    tutor.get_by_role("link", name="Your conversations").click()
    expect(page.get_by_role("heading", name="Basic step")).to_be_visible()
    screenshot(page, "tutor-conversations-desktop")
    found["list"] = axe_serious_violations(page)

    assert stored.text == "".join(_cited_reply(fake_llm.requests[0].body).chunks)
    assert {name: items for name, items in found.items() if items} == {}
    page.close()


def test_an_answer_that_breaks_midway_says_so_and_gives_the_question_back(
    browser, live_server, fake_llm, settings
):
    settings.LMS_TUTOR_QUESTIONS_PER_DAY = 3
    fake_llm.reply(chunks=["Step forward ", "with your left foot."], break_after=1)
    learner = UserFactory(email="ana@example.com", display_name="Ana", verified_email=True)
    lesson = LessonFactory(section=SectionFactory(course=CourseFactory()), title="Basic step")
    base = live_server.url
    page = browser.new_page(viewport=DESKTOP)
    sign_in(page, base, email=learner.email, password=PASSWORD)
    page.goto(f"{base}{lesson.get_absolute_url()}")
    tutor = page.get_by_role("region", name="Ask the tutor")

    tutor.get_by_label("Your question about this lesson").fill("Which foot first?")
    tutor.get_by_role("button", name="Ask").click()

    expect(tutor.get_by_role("alert")).to_be_visible(timeout=10_000)
    expect(tutor.get_by_text("Questions left today: 3 of 3")).to_be_visible()
    expect(tutor.get_by_label("Your question about this lesson")).to_have_value("Which foot first?")
    expect(tutor.get_by_role("button", name="Ask")).to_be_enabled()
    assert not Message.objects.exists()
    page.close()
