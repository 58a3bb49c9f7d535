"""The discussion pages: the lesson page's section, the thread list and thread pages,
forms with errors at 400, access as for the lesson, moderation buttons per role."""

import pytest
from django.urls import reverse

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from community.models import Reply, Report, Thread
from community.services.discussions import POSTS_PER_MINUTE
from community.tests.factories import ReplyFactory, ThreadFactory
from lms.tests.caches import cache_clear

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache_clear()


def lesson_in(course: Course | None = None, **kwargs) -> Lesson:
    return LessonFactory(section=SectionFactory(course=course or CourseFactory()), **kwargs)


def discussion_url(lesson: Lesson) -> str:
    return reverse("community:discussion", args=[lesson.course.slug, lesson.slug])


def thread_page(thread: Thread) -> str:
    return thread.get_absolute_url()


def test_the_lesson_page_lists_threads_pinned_first_with_reply_counts_and_moments(client):
    lesson = lesson_in(kind=Lesson.Kind.VIDEO, duration_seconds=300)
    older = ThreadFactory(lesson=lesson, title="Older but pinned", is_pinned=True)
    newer = ThreadFactory(lesson=lesson, title="Newer", timestamp_seconds=75)
    ReplyFactory.create_batch(2, thread=newer)
    ThreadFactory(lesson=lesson, title="Hidden one", is_hidden=True)

    html = client.get(lesson.get_absolute_url()).content.decode()

    assert html.index("Older but pinned") < html.index("Newer")
    assert "Hidden one" not in html
    assert "2 replies" in html
    assert 'href="#t=75" data-seek="75"' in html
    assert ">1:15<" in html
    assert older.get_absolute_url() in html


def test_a_learner_without_access_sees_no_discussion_page_nor_thread(client):
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())
    lesson = lesson_in(course)
    thread = ThreadFactory(lesson=lesson, title="Paid secrets")
    client.force_login(UserFactory())

    for url in (discussion_url(lesson), thread_page(thread)):
        response = client.get(url)
        assert response.status_code == 403
        assert "Paid secrets" not in response.content.decode()
    posted = client.post(discussion_url(lesson), {"title": "x", "body": "y"})
    assert posted.status_code == 403
    assert Thread.objects.count() == 1


def test_an_empty_thread_form_is_shown_again_with_errors_at_400(client):
    lesson = lesson_in()
    client.force_login(UserFactory())

    response = client.post(discussion_url(lesson), {"title": "", "body": ""})

    assert response.status_code == 400
    assert response.content.decode().count('aria-invalid="true"') == 2
    assert Thread.objects.count() == 0


def test_a_bad_moment_is_a_form_error(client):
    lesson = lesson_in(kind=Lesson.Kind.VIDEO, duration_seconds=60)
    client.force_login(UserFactory())

    wrong = client.post(discussion_url(lesson), {"title": "T", "body": "B", "timestamp": "x"})
    late = client.post(discussion_url(lesson), {"title": "T", "body": "B", "timestamp": "2:00"})

    assert wrong.status_code == late.status_code == 400
    assert "like 1:15" in wrong.content.decode()
    assert "between 0:00 and 1:00" in late.content.decode()
    assert Thread.objects.count() == 0


def test_posting_a_thread_and_a_reply_shows_them_sanitized(client):
    lesson = lesson_in(kind=Lesson.Kind.VIDEO, duration_seconds=300)
    client.force_login(UserFactory())

    created = client.post(
        discussion_url(lesson),
        {"title": "Turn", "body": "**Why?** <img src=x onerror=alert(1)>", "timestamp": "1:15"},
    )
    thread = Thread.objects.get()
    assert created.status_code == 302
    assert created["Location"] == thread.get_absolute_url()
    assert thread.timestamp_seconds == 75

    replied = client.post(thread_page(thread), {"body": "Because <script>x()</script>"})
    reply = Reply.objects.get()
    assert replied["Location"] == f"{thread.get_absolute_url()}#reply-{reply.pk}"
    html = client.get(thread_page(thread)).content.decode()
    assert "<strong>Why?</strong>" in html
    assert "onerror" not in html
    assert "<script>x()" not in html
    assert f'href="{lesson.get_absolute_url()}#t=75"' in html


def test_posting_too_fast_on_the_page_answers_429_with_the_form(client):
    lesson = lesson_in()
    client.force_login(UserFactory())

    for n in range(POSTS_PER_MINUTE):
        assert (
            client.post(discussion_url(lesson), {"title": f"T{n}", "body": "B"}).status_code == 302
        )
    refused = client.post(discussion_url(lesson), {"title": "One more", "body": "B"})

    assert refused.status_code == 429
    assert "posting too fast" in refused.content.decode()
    assert 'value="One more"' in refused.content.decode()


def test_a_locked_thread_refuses_a_learners_reply_with_409(client):
    thread = ThreadFactory(lesson=lesson_in(), is_locked=True)
    client.force_login(UserFactory())

    response = client.post(thread_page(thread), {"body": "Hello?"})

    assert response.status_code == 409
    assert "locked" in response.content.decode()
    assert Reply.objects.count() == 0


def test_moderation_buttons_show_for_moderators_only(client):
    thread = ThreadFactory(lesson=lesson_in())
    client.force_login(UserFactory())
    assert 'value="pin"' not in client.get(thread_page(thread)).content.decode()

    moderator = user_role_set(user=UserFactory(), role=Role.MODERATOR, actor=None)
    client.force_login(moderator)
    assert 'value="pin"' in client.get(thread_page(thread)).content.decode()
    action = reverse(
        "community:thread_action", args=[thread.lesson.course.slug, thread.lesson.slug, thread.pk]
    )
    client.post(action, {"action": "pin"})
    thread.refresh_from_db()
    assert thread.is_pinned


def test_a_learner_cannot_edit_or_delete_someone_elses_reply(client):
    reply = ReplyFactory(thread=ThreadFactory(lesson=lesson_in()), body="Original")
    lesson = reply.thread.lesson
    args = [lesson.course.slug, lesson.slug, reply.thread.pk, reply.pk]
    client.force_login(UserFactory())

    edit = client.post(reverse("community:reply_edit", args=args), {"body": "Changed"})
    client.post(reverse("community:reply_action", args=args), {"action": "delete"})

    assert edit.status_code == 403
    reply.refresh_from_db()
    assert (reply.body, reply.deleted_at) == ("Original", None)


def test_a_learner_reports_a_reply_from_its_page(client):
    reply = ReplyFactory(thread=ThreadFactory(lesson=lesson_in()))
    lesson = reply.thread.lesson
    reporter = UserFactory()
    client.force_login(reporter)
    url = reverse(
        "community:reply_action", args=[lesson.course.slug, lesson.slug, reply.thread.pk, reply.pk]
    )

    response = client.post(url, {"action": "report", "reason": "abuse"}, follow=True)

    assert "the moderators will look at it" in response.content.decode()
    report = Report.objects.get()
    assert (report.reply, report.reporter, report.reason) == (reply, reporter, "abuse")
