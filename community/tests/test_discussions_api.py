"""The discussions API: access as for the lesson, own posts only, moderation per role,
reports, rate limit, notifications, and query budgets constant in size."""

import pytest
from django.urls import reverse

from accounts.models import AuditLog
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
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache_clear()


def lesson_in(course: Course, **kwargs) -> Lesson:
    return LessonFactory(section=SectionFactory(course=course), **kwargs)


def paid_lesson() -> Lesson:
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())
    return lesson_in(course)


def threads_url(lesson: Lesson) -> str:
    return reverse("community-api:lesson-threads", args=[lesson.pk])


def thread_url(thread: Thread) -> str:
    return reverse("community-api:thread-detail", args=[thread.pk])


def replies_url(thread: Thread) -> str:
    return reverse("community-api:thread-replies", args=[thread.pk])


def with_role(role: Role, **kwargs):
    return user_role_set(user=UserFactory(**kwargs), role=role, actor=None)


# --- Access -----------------------------------------------------------------------------------


def test_a_learner_without_access_can_neither_read_nor_post(api_client):
    lesson = paid_lesson()
    thread = ThreadFactory(lesson=lesson)
    api_client.force_authenticate(UserFactory())

    listed = api_client.get(threads_url(lesson))
    posted = api_client.post(threads_url(lesson), {"title": "Hi", "body": "Hello"}, format="json")
    read = api_client.get(thread_url(thread))
    replied = api_client.post(replies_url(thread), {"body": "Me too"}, format="json")

    for response in (listed, posted, read, replied):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "UPGRADE_REQUIRED"
    assert Thread.objects.count() == 1
    assert Reply.objects.count() == 0


def test_unpublished_lessons_and_drafts_do_not_exist_for_learners(api_client):
    hidden_lesson = lesson_in(CourseFactory(), is_published=False)
    draft_lesson = lesson_in(CourseFactory(draft=True))
    thread = ThreadFactory(lesson=hidden_lesson)
    api_client.force_authenticate(UserFactory())

    for lesson in (hidden_lesson, draft_lesson):
        response = api_client.get(threads_url(lesson))
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "LESSON_NOT_FOUND"
    assert api_client.get(thread_url(thread)).status_code == 404


def test_visitors_read_a_public_lessons_threads_but_must_sign_in_to_post(api_client):
    lesson = lesson_in(CourseFactory())
    ThreadFactory(lesson=lesson, title="Counting")

    listed = api_client.get(threads_url(lesson))
    posted = api_client.post(threads_url(lesson), {"title": "Hi", "body": "Hello"}, format="json")

    assert listed.status_code == 200
    assert [item["title"] for item in listed.json()["results"]] == ["Counting"]
    assert posted.status_code in (401, 403)
    assert posted.json()["error"]["code"] == "NOT_AUTHENTICATED"


# --- Posting, Markdown, editing ---------------------------------------------------------------


def test_a_learner_starts_a_thread_with_a_timestamp_and_its_body_is_sanitized(api_client):
    lesson = lesson_in(CourseFactory(), kind=Lesson.Kind.VIDEO, duration_seconds=300)
    learner = UserFactory(display_name="Ada Lovelace")
    api_client.force_authenticate(learner)

    response = api_client.post(
        threads_url(lesson),
        {
            "title": "The turn",
            "body": "At *this* moment <script>alert(1)</script>[x](javascript:alert(1))",
            "timestamp_seconds": 75,
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    thread = Thread.objects.get()
    body = response.json()
    assert body == {
        "id": str(thread.pk),
        "author": {"id": str(learner.pk), "name": "Ada Lovelace"},
        "body": thread.body,
        "body_html": body["body_html"],
        "is_hidden": False,
        "is_mine": True,
        "created_at": body["created_at"],
        "edited_at": None,
        "lesson": str(lesson.pk),
        "title": "The turn",
        "timestamp_seconds": 75,
        "is_pinned": False,
        "is_locked": False,
        "reply_count": 0,
        "last_activity_at": body["last_activity_at"],
    }
    assert "<em>this</em>" in body["body_html"]
    assert "<script" not in body["body_html"]
    assert "javascript:" not in body["body_html"]


def test_a_timestamp_past_the_video_or_on_a_text_lesson_is_refused(api_client):
    video = lesson_in(CourseFactory(), kind=Lesson.Kind.VIDEO, duration_seconds=60)
    text = lesson_in(CourseFactory())
    api_client.force_authenticate(UserFactory())

    for lesson in (video, text):
        response = api_client.post(
            threads_url(lesson), {"title": "T", "body": "B", "timestamp_seconds": 61}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
        assert list(response.json()["error"]["fields"]) == ["timestamp_seconds"]
    assert Thread.objects.count() == 0


def test_only_the_author_edits_a_post_and_deleting_hides_it_everywhere(api_client):
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()), body="First")
    reply = ReplyFactory(thread=thread)
    api_client.force_authenticate(UserFactory())

    assert (
        api_client.patch(thread_url(thread), {"body": "Mine now"}, format="json").json()["error"][
            "code"
        ]
        == "NOT_YOUR_POST"
    )
    assert api_client.delete(thread_url(thread)).status_code == 403

    api_client.force_authenticate(thread.author)
    edited = api_client.patch(thread_url(thread), {"body": "Second"}, format="json")
    assert edited.status_code == 200
    assert edited.json()["body"] == "Second"
    assert edited.json()["edited_at"] is not None
    reply_url = reverse("community-api:reply-detail", args=[reply.pk])
    assert api_client.patch(reply_url, {"body": "x"}, format="json").status_code == 403

    assert api_client.delete(thread_url(thread)).status_code == 204
    thread.refresh_from_db()
    assert thread.deleted_at is not None
    assert api_client.get(thread_url(thread)).json()["error"]["code"] == "THREAD_NOT_FOUND"
    assert api_client.get(threads_url(thread.lesson)).json()["results"] == []


def test_an_instructors_reply_is_marked_as_the_answer(api_client):
    instructor = with_role(Role.INSTRUCTOR)
    course = CourseFactory(instructors=[instructor])
    thread = ThreadFactory(lesson=lesson_in(course))
    api_client.force_authenticate(instructor)

    response = api_client.post(replies_url(thread), {"body": "Count 1-2-3"}, format="json")

    assert response.status_code == 201
    assert response.json()["is_instructor_answer"] is True
    api_client.force_authenticate(UserFactory())
    learner_reply = api_client.post(replies_url(thread), {"body": "Thanks"}, format="json")
    assert learner_reply.json()["is_instructor_answer"] is False


# --- Moderation -------------------------------------------------------------------------------


def moderate(api_client, thread, **values):
    url = reverse("community-api:thread-moderate", args=[thread.pk])
    return api_client.post(url, values, format="json")


def test_learners_cannot_moderate(api_client):
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()))
    api_client.force_authenticate(UserFactory())

    response = moderate(api_client, thread, is_pinned=True)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "NOT_A_MODERATOR"
    thread.refresh_from_db()
    assert not thread.is_pinned


def test_a_moderator_pins_locks_and_hides_with_audit_rows(api_client):
    moderator = with_role(Role.MODERATOR)
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()))
    api_client.force_authenticate(moderator)

    response = moderate(api_client, thread, is_pinned=True, is_locked=True, is_hidden=True)

    assert response.status_code == 200
    assert (response.json()["is_pinned"], response.json()["is_locked"]) == (True, True)
    thread.refresh_from_db()
    assert (thread.is_pinned, thread.is_locked, thread.is_hidden) == (True, True, True)
    changes = AuditLog.objects.filter(action=AuditLog.Action.POST_MODERATED, actor=moderator)
    assert sorted(entry.details["change"] for entry in changes) == ["hidden", "locked", "pinned"]
    # Hidden: gone for learners, still there (marked) for moderators.
    assert [
        item["is_hidden"] for item in api_client.get(threads_url(thread.lesson)).json()["results"]
    ] == [True]
    api_client.force_authenticate(UserFactory())
    assert api_client.get(threads_url(thread.lesson)).json()["results"] == []


def test_a_locked_thread_takes_no_learner_replies(api_client):
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()), is_locked=True)
    api_client.force_authenticate(UserFactory())

    response = api_client.post(replies_url(thread), {"body": "Hello?"}, format="json")

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "THREAD_LOCKED"


def test_an_instructor_moderates_only_their_own_courses(api_client):
    instructor = with_role(Role.INSTRUCTOR)
    theirs = ThreadFactory(lesson=lesson_in(CourseFactory(instructors=[instructor])))
    others = ThreadFactory(lesson=lesson_in(CourseFactory()))
    api_client.force_authenticate(instructor)

    assert moderate(api_client, theirs, is_pinned=True).status_code == 200
    assert moderate(api_client, others, is_pinned=True).status_code == 403
    others.refresh_from_db()
    assert not others.is_pinned


def test_a_moderator_has_no_other_staff_power(client):
    moderator = with_role(Role.MODERATOR)
    paid = paid_lesson()
    client.force_login(moderator)

    assert client.get(reverse("community-api:lesson-threads", args=[paid.pk])).status_code == 403
    assert client.get(reverse("admin:community_report_changelist")).status_code == 200
    assert client.get(reverse("admin:catalog_course_changelist")).status_code == 403
    assert client.get(reverse("admin:accounts_user_changelist")).status_code == 403


# --- Reports ----------------------------------------------------------------------------------


def test_reporting_twice_keeps_one_open_report(api_client):
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()))
    reporter = UserFactory()
    api_client.force_authenticate(reporter)
    url = reverse("community-api:thread-report", args=[thread.pk])

    first = api_client.post(url, {"reason": "spam"}, format="json")
    second = api_client.post(url, {"reason": "abuse"}, format="json")

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    report = Report.objects.get()
    assert (report.reporter, report.thread, report.reason) == (reporter, thread, "spam")


# --- Rate limit -------------------------------------------------------------------------------


def test_posting_too_fast_is_refused_with_429(api_client):
    lesson = lesson_in(CourseFactory())
    api_client.force_authenticate(UserFactory())

    statuses = [
        api_client.post(threads_url(lesson), {"title": f"T{n}", "body": "B"}, format="json")
        for n in range(POSTS_PER_MINUTE + 1)
    ]

    assert [response.status_code for response in statuses] == [201] * POSTS_PER_MINUTE + [429]
    refused = statuses[-1]
    assert refused.json()["error"]["code"] == "DISCUSSION_RATE_LIMITED"
    assert int(refused["Retry-After"]) >= 1
    assert Thread.objects.count() == POSTS_PER_MINUTE


# --- Notifications ----------------------------------------------------------------------------


def test_a_reply_tells_the_thread_author_once_and_nobody_about_their_own_post(
    api_client, django_capture_on_commit_callbacks
):
    author = UserFactory(display_name="Ada Lovelace")
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()), author=author)
    replier = UserFactory(display_name="Grace Hopper")

    api_client.force_authenticate(replier)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(replies_url(thread), {"body": "Hi @[Ada Lovelace]"}, format="json")
    api_client.force_authenticate(author)
    with django_capture_on_commit_callbacks(execute=True):
        api_client.post(replies_url(thread), {"body": "Thanks, I'm @[Ada Lovelace]"}, format="json")

    assert list(Notification.objects.values_list("user", "kind", "actor")) == [
        (author.pk, "reply", replier.pk)
    ]


def test_mentions_tell_the_course_people_named_once_even_after_an_edit(api_client):
    course = CourseFactory()
    lesson = lesson_in(course)
    grace = UserFactory(display_name="Grace Hopper")
    ThreadFactory(lesson=lesson, author=grace)  # Grace has posted in the course.
    stranger = UserFactory(display_name="Alan")  # Never in the course: not mentionable.
    author = UserFactory()
    api_client.force_authenticate(author)

    created = api_client.post(
        threads_url(lesson), {"title": "Q", "body": "@[grace hopper] and @Alan?"}, format="json"
    )
    api_client.patch(
        thread_url(Thread.objects.get(pk=created.json()["id"])),
        {"body": "@[Grace Hopper], any idea?"},
        format="json",
    )

    assert list(Notification.objects.values_list("user", "kind")) == [(grace.pk, "mention")]
    assert not Notification.objects.filter(user=stranger).exists()


# --- Query budgets ----------------------------------------------------------------------------


@pytest.mark.parametrize("count", [5, 50])
def test_the_thread_list_costs_the_same_queries_for_5_or_50_threads(
    api_client, django_assert_max_num_queries, count
):
    lesson = lesson_in(CourseFactory())
    for thread in ThreadFactory.create_batch(count, lesson=lesson):
        ReplyFactory.create_batch(2, thread=thread)
    api_client.force_authenticate(UserFactory())

    with django_assert_max_num_queries(8):
        response = api_client.get(threads_url(lesson), {"page_size": 100})

    assert response.json()["count"] == count
    assert {item["reply_count"] for item in response.json()["results"]} == {2}


@pytest.mark.parametrize("count", [5, 50])
def test_a_thread_costs_the_same_queries_for_5_or_50_replies(
    api_client, django_assert_max_num_queries, count
):
    thread = ThreadFactory(lesson=lesson_in(CourseFactory()))
    ReplyFactory.create_batch(count, thread=thread)
    api_client.force_authenticate(UserFactory())

    with django_assert_max_num_queries(9):
        response = api_client.get(thread_url(thread), {"page_size": 100})

    assert response.json()["replies"]["count"] == count
    assert len(response.json()["replies"]["results"]) == count
