"""Announcements: an instructor (of the course) or staff tells the course's learners.

The services (writes) and the few reads (selectors, at the end) of one small feature.

`announcement_create` writes a draft (or publishes at once); `announcement_publish` publishes
it once: it posts a system message to the course's chat channel in the same transaction, and
after commit queues the fan-out task, which sends every learner who may open the course an
in-app notification (kind `announcement`; emailed by each learner's preference) in bounded
batches. Publishing twice, or the task running twice, sends nothing twice: the status flips
once under a row lock, and notifications are unique per (user, source).
"""

import uuid
from collections.abc import Iterator

from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import User
from catalog.access import course_access, is_course_editor
from catalog.models import Course
from community.models import Announcement
from community.services.chat import chat_announcement_post
from community.tasks import announcement_notify_task
from lms.broker import broker_require
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from notifications.services import notifications_send_many
from progress.models import Enrollment

NOTIFICATION_KIND = "announcement"
# Learners notified per batch of the fan-out (one query for the batch's users).
FAN_OUT_BATCH = 500
TITLE_MAX_LENGTH = 200
BODY_MAX_LENGTH = 20_000


def announcement_source(announcement: Announcement) -> str:
    """The notification source: one notification per learner and announcement."""
    return f"announcement:{announcement.pk}"


def _require_editor(*, user: User, course: Course) -> None:
    if not is_course_editor(user=user, course=course):
        raise AccessDeniedError(ErrorCode.ANNOUNCEMENT_NOT_ALLOWED)


def _clean(*, title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    fields: dict[str, list[str]] = {}
    if not title:
        fields["title"] = ["An announcement needs a title."]
    elif len(title) > TITLE_MAX_LENGTH:
        fields["title"] = [f"At most {TITLE_MAX_LENGTH} characters."]
    if len(body) > BODY_MAX_LENGTH:
        fields["body"] = [f"At most {BODY_MAX_LENGTH} characters."]
    if fields:
        raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields=fields)
    return title, body


def announcement_create(
    *,
    course: Course,
    author: User,
    title: str,
    body: str = "",
    publish: bool = False,
    client_id: uuid.UUID | None = None,
) -> Announcement:
    """A new announcement to the course's learners, by one of its editors.

    With `client_id`, a retried create returns the announcement the first one made.
    """
    _require_editor(user=author, course=course)
    title, body = _clean(title=title, body=body)
    if client_id is not None:
        existing = Announcement.objects.filter(course=course, client_id=client_id).first()
        if existing is not None:
            return existing
    try:
        with transaction.atomic():
            announcement = Announcement.objects.create(
                course=course, author=author, title=title, body=body, client_id=client_id
            )
    except IntegrityError:  # the same client id, created at the same moment
        return Announcement.objects.get(course=course, client_id=client_id)
    if publish:
        announcement = announcement_publish(announcement=announcement, actor=author)
    return announcement


def announcement_update(
    *, announcement: Announcement, actor: User, title: str, body: str = ""
) -> Announcement:
    """Edit the text. A published announcement is not sent again."""
    _require_editor(user=actor, course=announcement.course)
    announcement.title, announcement.body = _clean(title=title, body=body)
    announcement.save(update_fields=["title", "body", "updated_at"])
    return announcement


@transaction.atomic
def announcement_publish(*, announcement: Announcement, actor: User) -> Announcement:
    """Publish once: the chat post now, the learners' notifications after commit.

    Idempotent: publishing a published announcement returns it unchanged and sends nothing.
    """
    _require_editor(user=actor, course=announcement.course)
    # The fan-out task carries the only copy of that work: with the broker down, refuse
    # (503 SERVICE_UNAVAILABLE) and leave the draft as it was.
    broker_require()
    locked = (
        Announcement.objects.select_for_update().select_related("course").get(pk=announcement.pk)
    )
    if locked.is_published:
        return locked
    locked.status = Announcement.Status.PUBLISHED
    locked.published_at = timezone.now()
    locked.save(update_fields=["status", "published_at", "updated_at"])
    _chat_post(announcement=locked)
    announcement_id = str(locked.pk)
    transaction.on_commit(lambda: announcement_notify_task.delay(announcement_id=announcement_id))
    return locked


def _chat_post(*, announcement: Announcement) -> None:
    """Post the announcement to the course's chat channel, if it has one (idempotent: the
    announcement's id is the message's client id); the socket broadcast follows commit."""
    chat_announcement_post(announcement=announcement)


def announcement_recipients(*, announcement: Announcement) -> Iterator[list[User]]:
    """The learners to notify, in batches: actively enrolled, active accounts the access
    policy lets open the course (a lapsed subscriber of a paid course is not told), except
    its author."""
    course = announcement.course
    users = (
        User.objects.filter(
            is_active=True,
            pk__in=Enrollment.objects.filter(course=course, unenrolled_at__isnull=True).values(
                "user_id"
            ),
        )
        .exclude(pk=announcement.author_id)
        .order_by("pk")
    )
    last_pk = None
    while True:
        batch_query = users if last_pk is None else users.filter(pk__gt=last_pk)
        batch = list(batch_query[:FAN_OUT_BATCH])
        if not batch:
            return
        last_pk = batch[-1].pk
        # One question per learner for a paid course (their tier); none for the others.
        yield [user for user in batch if course_access(user=user, course=course).allowed]


def announcement_notify(*, announcement_id: uuid.UUID) -> int:
    """Send the published announcement's notifications; safe to run again (a learner already
    notified is skipped by the notification's unique source). Returns how many learners it
    is for (those told by an earlier run included)."""
    announcement = (
        Announcement.objects.select_related("course", "author")
        # The access policy asks whether each learner teaches the course: no query each.
        .prefetch_related("course__instructors")
        .filter(pk=announcement_id)
        .first()
    )
    if announcement is None or not announcement.is_published:
        return 0
    sent = 0
    for users in announcement_recipients(announcement=announcement):
        sent += notifications_send_many(
            users=users,
            kind=NOTIFICATION_KIND,
            title=f"{announcement.course.title}: {announcement.title}",
            body=announcement.body,
            url=announcement.get_absolute_url(),
            actor=announcement.author,
            source=announcement_source(announcement),
        )
    return sent


# --- Reads --------------------------------------------------------------------------------


def announcement_list(*, user: User | AnonymousUser, course: Course) -> QuerySet[Announcement]:
    """The course's published announcements, newest first, for someone the access policy
    lets open the course; 403 (LOGIN_REQUIRED or UPGRADE_REQUIRED) for anyone else."""
    course_access(user=user, course=course).require()
    return Announcement.objects.filter(
        course=course, status=Announcement.Status.PUBLISHED
    ).select_related("author", "course")


def announcements_latest(
    *, user: User | AnonymousUser, course: Course, limit: int = 3
) -> list[Announcement]:
    """The latest few published announcements for the course page: none for those who may
    not open the course (one query otherwise)."""
    if course_access(user=user, course=course).locked:
        return []
    return list(
        Announcement.objects.filter(course=course, status=Announcement.Status.PUBLISHED)
        .select_related("author")
        .order_by("-published_at")[:limit]
    )


def announcement_get_for_editor(*, user: User, announcement_id: uuid.UUID | str) -> Announcement:
    announcement = (
        Announcement.objects.select_related("course")
        .prefetch_related("course__instructors")
        .filter(pk=announcement_id)
        .first()
    )
    if announcement is None or not is_course_editor(user=user, course=announcement.course):
        raise NotFoundError(ErrorCode.ANNOUNCEMENT_NOT_FOUND)
    return announcement
