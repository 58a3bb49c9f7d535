"""Announcements: who may write them, who is told (in-app, email, chat), and who reads them."""

import uuid

import pytest
from django.core import mail
from django.urls import reverse

from accounts.roles import Role
from accounts.services import user_role_set
from accounts.tests.factories import UserFactory
from billing.services import tier_grant_create
from billing.tests.factories import TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from community.models import Announcement, ChatChannel, ChatMessage
from community.services.announcements import (
    announcement_create,
    announcement_notify,
    announcement_publish,
)
from lms.errors import ApplicationError, ErrorCode
from notifications.models import Notification
from progress.tests.factories import EnrollmentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def instructor():
    return user_role_set(
        user=UserFactory(email="teacher@example.com", display_name="Teo Teacher"),
        role=Role.INSTRUCTOR,
        actor=None,
    )


@pytest.fixture
def course(instructor):
    return CourseFactory(
        title="Salsa", slug="salsa", visibility=Course.Visibility.MEMBERS, instructors=[instructor]
    )


@pytest.fixture
def learners(course):
    """Three learners enrolled now; one who left, one whose account is closed, one who never
    enrolled: only the three are told."""
    enrolled = [EnrollmentFactory(course=course).user for _ in range(3)]
    EnrollmentFactory(course=course, unenrolled_at="2024-01-01T00:00:00Z")
    EnrollmentFactory(course=course, user=UserFactory(is_active=False))
    UserFactory()
    return enrolled


def _notified(announcement: Announcement) -> set:
    return set(
        Notification.objects.filter(source=f"announcement:{announcement.pk}").values_list(
            "user_id", "kind", "title", "url"
        )
    )


def _publish_new(django_capture_on_commit_callbacks, *, course, author, **fields):
    with django_capture_on_commit_callbacks(execute=True):
        return announcement_create(
            course=course,
            author=author,
            title=fields.get("title", "Class moves to Thursday"),
            body=fields.get("body", "Same time, **room 4**."),
            publish=True,
        )


# --- Who may publish ------------------------------------------------------------------------


def test_the_course_instructor_publishes_and_every_enrolled_learner_is_told(
    course, instructor, learners, django_capture_on_commit_callbacks
):
    announcement = _publish_new(
        django_capture_on_commit_callbacks, course=course, author=instructor
    )

    announcement.refresh_from_db()
    assert announcement.status == Announcement.Status.PUBLISHED
    assert announcement.published_at is not None
    url = f"/courses/salsa/#announcement-{announcement.pk}"
    assert _notified(announcement) == {
        (learner.pk, "announcement", "Salsa: Class moves to Thursday", url) for learner in learners
    }
    # Emailed at once: "immediately" is the default for announcements.
    assert sorted(address for message in mail.outbox for address in message.to) == sorted(
        learner.email for learner in learners
    )


def test_staff_may_announce_to_any_course(
    course, staff_user, learners, django_capture_on_commit_callbacks
):
    announcement = _publish_new(
        django_capture_on_commit_callbacks, course=course, author=staff_user
    )

    assert len(_notified(announcement)) == 3


def test_an_instructor_of_another_course_cannot_announce(course, learners):
    other = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)
    CourseFactory(instructors=[other])

    with pytest.raises(ApplicationError) as refused:
        announcement_create(course=course, author=other, title="Hi", publish=True)

    assert refused.value.code == ErrorCode.ANNOUNCEMENT_NOT_ALLOWED
    assert not Announcement.objects.exists()
    assert not Notification.objects.exists()


def test_a_learner_cannot_publish_a_draft(course, instructor, learners):
    draft = announcement_create(course=course, author=instructor, title="Draft")

    with pytest.raises(ApplicationError) as refused:
        announcement_publish(announcement=draft, actor=learners[0])

    assert refused.value.code == ErrorCode.ANNOUNCEMENT_NOT_ALLOWED
    draft.refresh_from_db()
    assert draft.status == Announcement.Status.DRAFT
    assert not Notification.objects.exists()


def test_a_draft_tells_nobody_until_published(
    course, instructor, learners, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        draft = announcement_create(course=course, author=instructor, title="Soon")
    assert not Notification.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        announcement_publish(announcement=draft, actor=instructor)

    assert len(_notified(draft)) == 3


# --- Idempotent, and pushed to the chat -----------------------------------------------------


def test_publishing_twice_and_the_task_running_again_tell_each_learner_once(
    course, instructor, learners, django_capture_on_commit_callbacks
):
    channel = ChatChannel.objects.create(course=course, title="Salsa lounge")
    announcement = _publish_new(
        django_capture_on_commit_callbacks, course=course, author=instructor
    )
    first_published_at = Announcement.objects.get().published_at

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = announcement_publish(announcement=announcement, actor=instructor)
    assert announcement_notify(announcement_id=announcement.pk) == 3

    assert callbacks == []  # nothing queued the second time
    assert again.published_at == first_published_at
    assert Notification.objects.count() == 3
    assert len(mail.outbox) == 3
    messages = list(ChatMessage.objects.filter(channel=channel))
    assert [(m.seq, m.author_id) for m in messages] == [(1, None)]
    assert "Class moves to Thursday" in messages[0].body
    assert "<strong>room 4</strong>" in messages[0].body_html


def test_a_course_without_a_chat_channel_gets_no_chat_message(
    course, instructor, learners, django_capture_on_commit_callbacks
):
    other_channel = ChatChannel.objects.create(course=CourseFactory(), title="Elsewhere")

    _publish_new(django_capture_on_commit_callbacks, course=course, author=instructor)

    assert not ChatMessage.objects.exists()
    assert other_channel.messages.count() == 0


def test_a_paid_course_tells_only_the_learners_whose_tier_opens_it(
    instructor, django_capture_on_commit_callbacks
):
    gold = TierFactory(rank=20)
    paid = CourseFactory(
        slug="paid", visibility=Course.Visibility.PAID, required_tier=gold, instructors=[instructor]
    )
    holder, lapsed = EnrollmentFactory(course=paid).user, EnrollmentFactory(course=paid).user
    tier_grant_create(user=holder, tier=gold, source="staff")

    announcement = _publish_new(django_capture_on_commit_callbacks, course=paid, author=instructor)

    assert {user_id for user_id, *_ in _notified(announcement)} == {holder.pk}
    assert not Notification.objects.filter(user=lapsed).exists()


# --- Reading them: the API and the course page ------------------------------------------------


def _api_url(slug: str = "salsa") -> str:
    return reverse("community-api:course_announcements", args=[slug])


def test_the_instructor_posts_through_the_api_and_learners_list_it(
    api_client, course, instructor, learners, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(instructor)
    client_id = str(uuid.uuid4())
    with django_capture_on_commit_callbacks(execute=True):
        created = api_client.post(
            _api_url(),
            {"title": "Bring water", "body": "It gets *hot*.", "client_id": client_id},
            format="json",
        )
    retried = api_client.post(
        _api_url(), {"title": "Bring water", "client_id": client_id}, format="json"
    )
    draft = api_client.post(_api_url(), {"title": "Later", "publish": False}, format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    announcement = Announcement.objects.get(title="Bring water")
    assert body == {
        "id": str(announcement.pk),
        "course": "salsa",
        "title": "Bring water",
        "body": "It gets *hot*.",
        "body_html": "<p>It gets <em>hot</em>.</p>",
        "author": "Teo Teacher",
        "status": "published",
        "published_at": body["published_at"],
    }
    assert body["published_at"]
    assert (retried.status_code, retried.json()) == (200, body)
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert len(_notified(announcement)) == 3

    api_client.force_authenticate(learners[0])
    listed = api_client.get(_api_url())
    assert listed.status_code == 200
    assert listed.json()["results"] == [body]  # the draft is not there


def test_a_learner_cannot_post_through_the_api(api_client, course, learners):
    api_client.force_authenticate(learners[0])

    response = api_client.post(_api_url(), {"title": "Free pizza"}, format="json")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "ANNOUNCEMENT_NOT_ALLOWED"
    assert not Announcement.objects.exists()


def test_a_visitor_who_may_not_open_the_course_reads_none(
    api_client, client, course, instructor, django_capture_on_commit_callbacks
):
    _publish_new(
        django_capture_on_commit_callbacks, course=course, author=instructor, title="Members only"
    )

    listed = api_client.get(_api_url())
    page = client.get("/courses/salsa/")

    assert listed.status_code == 403
    assert listed.json()["error"]["code"] == "LOGIN_REQUIRED"
    assert page.status_code == 200
    assert "Members only" not in page.content.decode()


def test_a_paid_course_page_shows_announcements_only_to_entitled_learners(
    client, instructor, django_capture_on_commit_callbacks
):
    gold = TierFactory(rank=20)
    paid = CourseFactory(
        slug="paid", visibility=Course.Visibility.PAID, required_tier=gold, instructors=[instructor]
    )
    _publish_new(
        django_capture_on_commit_callbacks, course=paid, author=instructor, title="Gold news"
    )
    without, holder = UserFactory(), UserFactory()
    tier_grant_create(user=holder, tier=gold, source="staff")

    client.force_login(without)
    assert "Gold news" not in client.get("/courses/paid/").content.decode()
    client.force_login(holder)
    html = client.get("/courses/paid/").content.decode()
    assert "Gold news" in html
    assert "<strong>room 4</strong>" in html
    assert "Teo Teacher" in html


def test_the_course_page_shows_the_latest_three_published(
    user_client, course, instructor, django_capture_on_commit_callbacks
):
    for number in range(1, 5):
        _publish_new(
            django_capture_on_commit_callbacks,
            course=course,
            author=instructor,
            title=f"Week {number} notes",
        )
    announcement_create(course=course, author=instructor, title="Unsent draft")

    html = user_client.get("/courses/salsa/").content.decode()

    assert [f"Week {n} notes" in html for n in (4, 3, 2, 1)] == [True, True, True, False]
    assert "Unsent draft" not in html
    assert html.index("Week 4 notes") < html.index("Week 2 notes")


# --- Admin ------------------------------------------------------------------------------------


def test_instructors_see_only_their_courses_announcements_in_the_admin(client, course, instructor):
    announcement_create(course=course, author=instructor, title="Mine")
    other = user_role_set(user=UserFactory(), role=Role.INSTRUCTOR, actor=None)
    theirs = announcement_create(
        course=CourseFactory(instructors=[other]), author=other, title="Theirs"
    )
    client.force_login(instructor)

    listing = client.get(reverse("admin:community_announcement_changelist"))
    foreign = client.get(reverse("admin:community_announcement_change", args=[theirs.pk]))

    assert listing.status_code == 200
    html = listing.content.decode()
    assert "Mine" in html and "Theirs" not in html
    assert foreign.status_code == 302  # "does not exist", back to the admin index


def test_an_instructor_publishes_from_the_admin(
    client, course, instructor, learners, django_capture_on_commit_callbacks
):
    client.force_login(instructor)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:community_announcement_add"),
            {"course": str(course.pk), "title": "Admin news", "body": "Hello", "publish_now": "on"},
        )

    assert response.status_code == 302, response.content.decode()[:2000]
    announcement = Announcement.objects.get()
    assert (announcement.title, announcement.author, announcement.status) == (
        "Admin news",
        instructor,
        Announcement.Status.PUBLISHED,
    )
    assert len(_notified(announcement)) == 3
