"""Every write of lesson discussions: threads, replies, edits and deletes, moderation,
reports. Moderation and report handling write their audit row in the same transaction.

Callers (pages, API) have loaded the lesson or post with `community.selectors.discussions`,
which applies the access policy; the services check again who may write, so no caller can
skip a rule. Notifications (`notifications.services.notification_send`) are idempotent per
source, so an edit never tells anyone twice.
"""

import time

from django.db import transaction
from django.utils import timezone

from accounts.models import AuditLog, User
from accounts.services import audit_record
from catalog.access import is_course_editor
from catalog.models import Lesson
from community.models import Reply, Report, Thread
from community.models.discussions import BODY_MAX_LENGTH, TITLE_MAX_LENGTH
from community.selectors.discussions import (
    discussion_can_moderate,
    discussion_lesson_open_require,
    mentioned_users_get,
)
from lms.cache import outage_log
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from lms.ratelimit import RateLimitUnavailable, rate_take
from notifications.services import notification_send

# Posts (threads and replies together) one person may write per minute.
POSTS_PER_MINUTE = 5

Post = Thread | Reply
# `post_edit(timestamp_seconds=UNCHANGED)`: keep the thread's timestamp as it is.
UNCHANGED = object()


# --- Checks --------------------------------------------------------------------------------


def _text_clean(value: str | None, *, field: str, max_length: int, label: str) -> str:
    text = (value or "").strip()
    if not text:
        raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields={field: [f"Write {label}."]})
    if len(text) > max_length:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={field: [f"Keep it to {max_length} characters (it has {len(text)})."]},
        )
    return text


def _timestamp_clean(value: int | None, *, lesson: Lesson) -> int | None:
    if value is None:
        return None
    if lesson.kind != Lesson.Kind.VIDEO:
        message = "Only a video lesson's threads can point at a moment of the video."
    elif value < 0 or (lesson.duration_seconds and value > lesson.duration_seconds):
        minutes, seconds = divmod(lesson.duration_seconds, 60)
        message = f"Pick a moment between 0:00 and {minutes}:{seconds:02d}."
    else:
        return value
    raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields={"timestamp_seconds": [message]})


def _writer_require(*, user: User, lesson: Lesson) -> None:
    """Signed in, active, allowed to open the lesson, and not a preview."""
    if not user.is_authenticated or not user.is_active:
        raise AccessDeniedError(ErrorCode.NOT_AUTHENTICATED)
    discussion_lesson_open_require(user=user, lesson=lesson)
    if lesson.is_preview_only:
        raise ApplicationError(ErrorCode.PREVIEW_ONLY, "Unpublished lessons have no discussion.")


def _rate_limit_take(*, user: User) -> None:
    """Count one post against the author's POSTS_PER_MINUTE (a sliding minute); refuse
    beyond. Fails open when the cache is out of reach (a rate limit protects the site, it
    must not stop it)."""
    try:
        refusal = rate_take(
            key=f"community:posts:{user.pk}", limit=POSTS_PER_MINUTE, now=time.time()
        )
    except RateLimitUnavailable as exc:
        outage_log("discussion rate limit").failed(exc, consequence="not enforced")
        return
    if refusal is not None:
        raise ApplicationError(ErrorCode.DISCUSSION_RATE_LIMITED, retry_at=refusal.retry_at)


def _moderator_require(*, actor: User, post: Post) -> None:
    if not discussion_can_moderate(user=actor, course=_lesson_of(post).course):
        raise AccessDeniedError(ErrorCode.NOT_A_MODERATOR)


def _lesson_of(post: Post) -> Lesson:
    return post.lesson if isinstance(post, Thread) else post.thread.lesson


def _thread_of(post: Post) -> Thread:
    return post if isinstance(post, Thread) else post.thread


# --- Notifications -------------------------------------------------------------------------


def _post_url(post: Post) -> str:
    thread = _thread_of(post)
    url = thread.get_absolute_url()
    return url if isinstance(post, Thread) else f"{url}#reply-{post.pk}"


def _mentions_notify(*, post: Post, author: User, skip: set) -> None:
    thread = _thread_of(post)
    for person in mentioned_users_get(text=post.body, lesson=thread.lesson):
        if person.pk == author.pk or person.pk in skip:
            continue
        notification_send(
            user=person,
            kind="mention",
            title=f"{author.public_name} mentioned you in “{thread.title}”",
            body=post.body[:300],
            url=_post_url(post),
            actor=author,
            source=f"mention:{post._meta.model_name}:{post.pk}",
        )


# --- Threads and replies -------------------------------------------------------------------


@transaction.atomic
def thread_create(
    *, user: User, lesson: Lesson, title: str, body: str, timestamp_seconds: int | None = None
) -> Thread:
    """Start a thread under the lesson; notify the people it mentions."""
    _writer_require(user=user, lesson=lesson)
    title = _text_clean(title, field="title", max_length=TITLE_MAX_LENGTH, label="a title")
    body = _text_clean(body, field="body", max_length=BODY_MAX_LENGTH, label="your question")
    timestamp_seconds = _timestamp_clean(timestamp_seconds, lesson=lesson)
    _rate_limit_take(user=user)
    now = timezone.now()
    thread = Thread.objects.create(
        lesson=lesson,
        author=user,
        title=title,
        body=body,
        timestamp_seconds=timestamp_seconds,
        created_at=now,
        last_activity_at=now,
    )
    _mentions_notify(post=thread, author=user, skip=set())
    return thread


@transaction.atomic
def reply_create(*, user: User, thread: Thread, body: str) -> Reply:
    """Reply in a thread (moderators also in a locked one). The thread's author is told
    (kind `reply`), and the people the reply mentions (kind `mention`); nobody twice,
    nobody about their own post. An instructor's or staff member's reply is marked as
    the instructors' answer."""
    lesson = thread.lesson
    _writer_require(user=user, lesson=lesson)
    locked = Thread.objects.select_for_update().get(pk=thread.pk)
    if locked.deleted_at is not None or (
        locked.is_hidden and not discussion_can_moderate(user=user, course=lesson.course)
    ):
        raise NotFoundError(ErrorCode.THREAD_NOT_FOUND)
    if locked.is_locked and not discussion_can_moderate(user=user, course=lesson.course):
        raise ApplicationError(ErrorCode.THREAD_LOCKED)
    body = _text_clean(body, field="body", max_length=BODY_MAX_LENGTH, label="your reply")
    _rate_limit_take(user=user)
    now = timezone.now()
    reply = Reply.objects.create(
        thread=thread,
        author=user,
        body=body,
        is_instructor_answer=is_course_editor(user=user, course=lesson.course),
        created_at=now,
    )
    Thread.objects.filter(pk=thread.pk).update(last_activity_at=now)
    thread.last_activity_at = now
    told = set()
    if thread.author_id != user.pk:
        notification_send(
            user=thread.author,
            kind="reply",
            title=f"{user.public_name} replied to “{thread.title}”",
            body=body[:300],
            url=_post_url(reply),
            actor=user,
            source=f"reply:{reply.pk}",
        )
        told.add(thread.author_id)
    _mentions_notify(post=reply, author=user, skip=told)
    return reply


@transaction.atomic
def post_edit(
    *,
    user: User,
    post: Post,
    body: str,
    title: str | None = None,
    timestamp_seconds: int | object | None = UNCHANGED,
) -> Post:
    """The author edits their thread (title, body, timestamp) or reply (body). People newly
    mentioned are told; those told before are not told again."""
    if post.author_id != user.pk:
        raise AccessDeniedError(ErrorCode.NOT_YOUR_POST)
    lesson = _lesson_of(post)
    _writer_require(user=user, lesson=lesson)
    post.body = _text_clean(body, field="body", max_length=BODY_MAX_LENGTH, label="something")
    fields = ["body", "edited_at"]
    if isinstance(post, Thread):
        post.title = _text_clean(
            post.title if title is None else title,
            field="title",
            max_length=TITLE_MAX_LENGTH,
            label="a title",
        )
        if timestamp_seconds is not UNCHANGED:
            post.timestamp_seconds = _timestamp_clean(timestamp_seconds, lesson=lesson)
        fields += ["title", "timestamp_seconds"]
    post.edited_at = timezone.now()
    post.save(update_fields=fields)
    _mentions_notify(post=post, author=user, skip=set())
    return post


@transaction.atomic
def post_delete(*, user: User, post: Post) -> Post:
    """Delete a post (kept in the database, shown nowhere on the site): its author, or a
    moderator (audited)."""
    is_author = post.author_id == user.pk
    if not is_author:
        _moderator_require(actor=user, post=post)
    if post.deleted_at is None:
        post.deleted_at = timezone.now()
        post.save(update_fields=["deleted_at"])
        if not is_author:
            _moderation_audit(actor=user, post=post, change="deleted")
    return post


# --- Moderation ----------------------------------------------------------------------------


def _moderation_audit(*, actor: User, post: Post, change: str) -> None:
    audit_record(
        action=AuditLog.Action.POST_MODERATED,
        actor=actor,
        target=post,
        details={
            "change": change,
            "post": post._meta.model_name,
            "lesson": str(_lesson_of(post).pk),
            "author": str(post.author_id),
        },
    )


def _flag_set(*, actor: User, post: Post, field: str, value: bool, change: str) -> Post:
    _moderator_require(actor=actor, post=post)
    if getattr(post, field) != value:
        setattr(post, field, value)
        post.save(update_fields=[field])
        _moderation_audit(actor=actor, post=post, change=change)
    return post


@transaction.atomic
def thread_pin(*, actor: User, thread: Thread, pinned: bool = True) -> Thread:
    """Pinned threads come first in the lesson's list."""
    change = "pinned" if pinned else "unpinned"
    return _flag_set(actor=actor, post=thread, field="is_pinned", value=pinned, change=change)


@transaction.atomic
def thread_lock(*, actor: User, thread: Thread, locked: bool = True) -> Thread:
    """A locked thread takes no new replies (but from moderators)."""
    change = "locked" if locked else "unlocked"
    return _flag_set(actor=actor, post=thread, field="is_locked", value=locked, change=change)


@transaction.atomic
def post_hide(*, actor: User, post: Post, hidden: bool = True) -> Post:
    """Hidden posts are shown to moderators only."""
    change = "hidden" if hidden else "unhidden"
    return _flag_set(actor=actor, post=post, field="is_hidden", value=hidden, change=change)


def thread_hide(*, actor: User, thread: Thread, hidden: bool = True) -> Thread:
    return post_hide(actor=actor, post=thread, hidden=hidden)


@transaction.atomic
def reply_answer_mark(*, actor: User, reply: Reply, marked: bool = True) -> Reply:
    """The course's instructors (and staff) mark a reply as the instructors' answer."""
    if not is_course_editor(user=actor, course=reply.thread.lesson.course):
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)
    if reply.is_instructor_answer != marked:
        reply.is_instructor_answer = marked
        reply.save(update_fields=["is_instructor_answer"])
        _moderation_audit(actor=actor, post=reply, change="answer" if marked else "not_answer")
    return reply


# --- Reports -------------------------------------------------------------------------------


@transaction.atomic
def report_create(*, user: User, post: Post, reason: str, details: str = "") -> tuple[Report, bool]:
    """Report a post to the moderators; (the report, whether it is new). Reporting a post
    again while the first report is open changes nothing."""
    if not user.is_authenticated or not user.is_active:
        raise AccessDeniedError(ErrorCode.NOT_AUTHENTICATED)
    discussion_lesson_open_require(user=user, lesson=_lesson_of(post))
    if reason not in Report.Reason.values:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR, fields={"reason": ["Choose one of the reasons."]}
        )
    details = (details or "").strip()
    if len(details) > 1000:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR, fields={"details": ["Keep it to 1000 characters."]}
        )
    target = {"thread": post} if isinstance(post, Thread) else {"reply": post}
    report, created = Report.objects.get_or_create(
        **target,
        reporter=user,
        status=Report.Status.OPEN,
        defaults={"reason": reason, "details": details},
    )
    return report, created


class ReportAction:
    DISMISS = "dismiss"
    HIDE = "hide"
    DELETE = "delete"
    CHOICES = (DISMISS, HIDE, DELETE)


@transaction.atomic
def report_resolve(*, actor: User, report: Report, action: str) -> Report:
    """Handle a report: dismiss it, or hide or delete the post. Every open report about the
    same post is closed with it, so the queue never asks twice about one post."""
    if action not in ReportAction.CHOICES:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR, fields={"action": ["Dismiss, hide or delete."]}
        )
    locked = Report.objects.select_for_update().get(pk=report.pk)
    if locked.status != Report.Status.OPEN:
        raise ApplicationError(ErrorCode.REPORT_ALREADY_HANDLED)
    post = report.post
    _moderator_require(actor=actor, post=post)
    if action == ReportAction.HIDE:
        post_hide(actor=actor, post=post, hidden=True)
    elif action == ReportAction.DELETE:
        post_delete(user=actor, post=post)
    status = Report.Status.DISMISSED if action == ReportAction.DISMISS else Report.Status.RESOLVED
    same_post = {"thread": post} if isinstance(post, Thread) else {"reply": post}
    now = timezone.now()
    closed = Report.objects.filter(**same_post, status=Report.Status.OPEN).update(
        status=status, handled_by=actor, handled_at=now
    )
    audit_record(
        action=AuditLog.Action.REPORT_HANDLED,
        actor=actor,
        target=post,
        details={"action": action, "reports": closed, "reason": locked.reason},
    )
    report.refresh_from_db()
    return report
