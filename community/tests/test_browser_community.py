"""Must show 2: a learner and the course's instructor, in two real Chromium pages (two browser
contexts, two sessions), on the real ASGI server (uvicorn, the Redis channel layer) that
serves both the pages and the WebSockets.

The learner asks in a lesson's discussion at a moment of the video; the instructor finds the
question and answers it; the learner's bell counts the reply; and in the course chat each
page sees the other's message arrive live, without a reload.
"""

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from community.models import ChatChannel, Reply, Thread
from lms.tests import asgi_server as harness
from lms.tests.browser import DESKTOP, header_links
from progress.tests.factories import EnrollmentFactory

pytestmark = [pytest.mark.browser, pytest.mark.redis, pytest.mark.django_db(transaction=True)]

QUESTION = "Where exactly is the 1?"
ANSWER = "Follow the cowbell: it plays on 1 and 5."


@pytest.fixture
def site(asgi_server) -> Iterator[harness.AsgiServer]:
    """The harness's server running the site, with the static files served from the finders
    (as pytest-django's live_server does): the pages need today's scripts and styles, not
    what a `collectstatic` left in STATIC_ROOT."""
    from lms.asgi import application

    with asgi_server.mounted(ASGIStaticFilesHandler(application)) as server:
        yield server


@pytest.fixture
def school(transactional_db) -> dict:
    instructor = user_role_set(
        user=UserFactory(email="teo@example.com", display_name="Teo Teacher"),
        role=Role.INSTRUCTOR,
        actor=None,
    )
    learner = UserFactory(email="lee@example.com", display_name="Lee Park")
    course = CourseFactory(
        title="Salsa Nights",
        slug="salsa-nights",
        visibility=Course.Visibility.MEMBERS,
        instructors=[instructor],
    )
    lesson = LessonFactory(
        section=SectionFactory(course=course),
        title="Finding the beat",
        slug="finding-the-beat",
        kind=Lesson.Kind.VIDEO,
        duration_seconds=180,
    )
    EnrollmentFactory(user=learner, course=course)
    channel = ChatChannel.objects.create(course=course, title="Salsa Nights lounge")
    return {
        "instructor": instructor,
        "learner": learner,
        "course": course,
        "lesson": lesson,
        "channel": channel,
    }


def _signed_in_page(browser, server: harness.AsgiServer, user):
    """A page in its own browser context (its own cookies), signed in as `user`."""
    context = browser.new_context(viewport=DESKTOP, base_url=server.url)
    name, _, value = harness.session_cookie(user).partition("=")
    assert name == settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": value, "url": server.url}])
    context.set_default_timeout(10_000)
    return context.new_page()


def test_a_learner_asks_the_instructor_answers_the_bell_counts_it_and_the_chat_is_live(
    site, browser, school
):
    from playwright.sync_api import expect

    learner = _signed_in_page(browser, site, school["learner"])
    teacher = _signed_in_page(browser, site, school["instructor"])
    discussion = "/courses/salsa-nights/finding-the-beat/discussion/"

    # The learner asks, at 1:15 of the video.
    learner.goto(discussion)
    expect(
        header_links(learner).get_by_role("link", name="Notifications, none unread")
    ).to_be_visible()
    learner.get_by_label("Title").fill(QUESTION)
    learner.get_by_label("Your question or topic").fill("I hear the melody change here.")
    learner.get_by_label("Moment of the video (optional)").fill("1:15")
    learner.get_by_role("button", name="Post the question").click()
    expect(learner.get_by_role("heading", level=1)).to_have_text(QUESTION)
    moment = learner.get_by_role("link", name="At 1:15 in the video")
    expect(moment).to_have_attribute("href", "/courses/salsa-nights/finding-the-beat/#t=75")
    thread = Thread.objects.get(title=QUESTION)
    assert (thread.author, thread.timestamp_seconds) == (school["learner"], 75)

    # The instructor finds it in the lesson's discussion and answers.
    teacher.goto(discussion)
    teacher.get_by_role("link", name=QUESTION).click()
    expect(teacher.get_by_role("heading", level=1)).to_have_text(QUESTION)
    teacher.get_by_label("Your reply").fill(ANSWER)
    teacher.get_by_role("button", name="Post the reply").click()
    answer = teacher.locator("article.post--answer")
    expect(answer).to_contain_text(ANSWER)
    expect(answer).to_contain_text("Instructor's answer")
    reply = Reply.objects.get(thread=thread)
    assert (reply.author, reply.is_instructor_answer) == (school["instructor"], True)

    # The learner's bell counts the reply (on the next page), and leads to it.
    learner.reload()
    bell = header_links(learner).get_by_role("link", name="Notifications, 1 unread")
    expect(bell).to_be_visible()
    bell.click()
    expect(learner.get_by_role("main")).to_contain_text(QUESTION)

    # The course chat: each page sees the other's message arrive, without a reload.
    _chat_both_ways(learner, teacher, school["channel"])


def _chat_both_ways(learner, teacher, channel: ChatChannel) -> None:
    from playwright.sync_api import expect

    chat = f"/chat/{channel.pk}/"
    for page in (learner, teacher):
        page.goto(chat)
        # Connected: the status says so, with both people online once the second has come.
        expect(page.locator("#chat-status")).to_contain_text("Live")
    expect(learner.locator("#chat-status")).to_contain_text("2 online")
    hello, welcome = "Hello from Lee!", "Welcome, Lee: see you on Thursday."

    learner.get_by_label("Your message").fill(hello)
    learner.get_by_role("button", name="Send").click()
    expect(teacher.get_by_role("list", name="Messages")).to_contain_text(hello)

    teacher.get_by_label("Your message").fill(welcome)
    teacher.get_by_role("button", name="Send").click()
    learner_log = learner.get_by_role("list", name="Messages")
    expect(learner_log).to_contain_text(welcome)
    expect(learner_log.get_by_role("listitem")).to_have_count(2)
    assert learner.url.endswith(chat)  # no reload, no navigation: the socket brought it
    assert list(channel.messages.order_by("seq").values_list("body", flat=True)) == [
        hello,
        welcome,
    ]
