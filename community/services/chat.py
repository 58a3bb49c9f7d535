"""Live chat: who may join a channel, and every write (post, edit, delete, hide).

Membership comes from the access policy: a course channel is open to whoever
`catalog.access.course_access` lets open the course (learners with access, its instructors,
staff) while the course page exists for them; a school-wide channel (no course) to every
signed-in active user. Moderators (delete or hide anyone's message) are staff, the course's
instructors and the moderator role (`community.permissions`).

Every write is broadcast after commit to the channel's group on the channel layer
(`ChatChannel.group_name`), as the JSON events of the socket protocol (`community.consumers`).
Messages are numbered per channel (`seq`) under a row lock on the channel, so numbers follow
commit order without gaps; a client that reconnects with `?after=<seq>` misses nothing.
"""

import logging
import uuid
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accounts.models import User
from accounts.roles import user_has_staff_role, user_role_get
from catalog.access import course_access, course_is_visible, courses_open_q, is_course_editor
from catalog.models import Course
from community.models import ChatChannel, ChatMessage
from community.models.chat import CHANNEL_TITLE_MAX_LENGTH, MESSAGE_MAX_LENGTH
from lms.errors import AccessDeniedError, ApplicationError, ErrorCode, NotFoundError
from lms.markdown import render_markdown
from lms.realtime import group_send, group_send_on_commit

logger = logging.getLogger(__name__)

# A sender may post at most this many messages per window in one channel.
RATE_LIMIT_MESSAGES = 8
RATE_LIMIT_WINDOW = timedelta(seconds=10)
# Messages a reconnecting socket is sent at most; past that it reads history over REST.
CATCHUP_LIMIT = 500


# --- Membership and moderation ------------------------------------------------------------


def _signed_in(user: User | AnonymousUser) -> bool:
    return bool(user.is_authenticated and user.is_active)


def chat_member_allowed(*, user: User | AnonymousUser, channel: ChatChannel) -> bool:
    """Whether the user may read and post in the channel (see the module docstring)."""
    if not _signed_in(user):
        return False
    course = channel.course
    if course is None:
        return True
    if not course_is_visible(user=user, course=course):
        return False
    return course_access(user=user, course=course).allowed


def chat_channel_visible(*, user: User | AnonymousUser, channel: ChatChannel) -> bool:
    """Whether the channel exists for the user: not when its course is a draft they cannot
    see (answered as "not found", like the course page)."""
    return channel.course is None or course_is_visible(user=user, course=channel.course)


def chat_user_can_moderate(*, user: User | AnonymousUser, channel: ChatChannel) -> bool:
    """Staff, the moderator role, and (in a course channel) the course's instructors."""
    if not _signed_in(user):
        return False
    if user_has_staff_role(user) or _has_moderator_role(user):
        return True
    return channel.course is not None and is_course_editor(user=user, course=channel.course)


def _has_moderator_role(user: User) -> bool:
    # The moderator role (accounts.roles): moderates the community, no other staff powers.
    return user_role_get(user) == "moderator"


def chat_channels_for(*, user: User | AnonymousUser) -> QuerySet[ChatChannel]:
    """The channels the user may join, school-wide ones first, then by course and title."""
    channels = ChatChannel.objects.select_related("course").order_by(
        F("course__title").asc(nulls_first=True), "title", "id"
    )
    if not _signed_in(user):
        return channels.none()
    if user_has_staff_role(user):
        return channels
    taught = Course.objects.filter(instructors=user).values("pk")
    visible = ~Q(course__status=Course.Status.DRAFT) | Q(course__in=taught)
    return channels.filter(
        Q(course__isnull=True) | (courses_open_q(user=user, prefix="course__") & visible)
    )


def chat_channel_get(*, user: User | AnonymousUser, channel_id: Any) -> ChatChannel:
    """The channel, if the user may join it. 404 when it does not exist (or its course is a
    draft they cannot see); 403 (LOGIN_REQUIRED, UPGRADE_REQUIRED) when it is closed to them."""
    try:
        channel = ChatChannel.objects.select_related("course").get(pk=channel_id)
    except (ChatChannel.DoesNotExist, ValidationError, ValueError):
        raise NotFoundError(ErrorCode.CHAT_CHANNEL_NOT_FOUND) from None
    if not chat_channel_visible(user=user, channel=channel):
        raise NotFoundError(ErrorCode.CHAT_CHANNEL_NOT_FOUND)
    if not _signed_in(user):
        raise AccessDeniedError(ErrorCode.LOGIN_REQUIRED)
    if channel.course is not None:
        course_access(user=user, course=channel.course).require()
    return channel


def chat_messages_list(
    *, channel: ChatChannel, after: int | None = None, before: int | None = None, limit: int = 50
) -> list[ChatMessage]:
    """Visible messages in seq order: the first `limit` after `after`, else the last `limit`
    (before `before`, when given)."""
    messages = ChatMessage.objects.filter(
        channel=channel, deleted_at__isnull=True, is_hidden=False
    ).select_related("author")
    if after is not None:
        messages = messages.filter(seq__gt=after)
    if before is not None:
        messages = messages.filter(seq__lt=before)
    if after is not None:
        return list(messages.order_by("seq")[:limit])
    return list(reversed(messages.order_by("-seq")[:limit]))


def chat_message_get(*, channel: ChatChannel, message_id: Any) -> ChatMessage:
    try:
        return ChatMessage.objects.select_related("author", "channel__course").get(
            pk=message_id, channel=channel, deleted_at__isnull=True, is_hidden=False
        )
    except (ChatMessage.DoesNotExist, ValidationError, ValueError):
        raise NotFoundError(ErrorCode.CHAT_MESSAGE_NOT_FOUND) from None


# --- The socket protocol's events ---------------------------------------------------------


def chat_author_data(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": str(user.pk), "name": user.public_name}


def chat_message_data(message: ChatMessage) -> dict[str, Any]:
    """A message as the socket and the REST API send it."""
    return {
        "id": str(message.pk),
        "seq": message.seq,
        "channel": str(message.channel_id),
        "author": chat_author_data(message.author),
        "body": message.body,
        "body_html": message.body_html,
        "created_at": message.created_at.isoformat(),
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "client_id": str(message.client_id) if message.client_id else None,
    }


def _broadcast(*, group: str, payload: dict[str, Any]) -> None:
    """Send `payload` to every socket of the group after commit. A channel layer that cannot
    be reached loses the live event, not the message: clients get it when they reconnect
    (`?after=`) or read the history."""
    group_send_on_commit(group=group, message={"type": "chat.event", "payload": payload})


def chat_user_recheck(*, user_id: Any) -> None:
    """Ask every chat socket of the user to check its membership again (after commit)."""
    group_send_on_commit(group=chat_user_group(user_id), message={"type": "access.recheck"})


def chat_entitlements_changed(sender: Any, *, user_id: Any, **kwargs: Any) -> None:
    """Receiver of `billing.signals.entitlements_changed` (sent after commit)."""
    group_send(group=chat_user_group(user_id), message={"type": "access.recheck"})


def chat_user_group(user_id: Any) -> str:
    """The channel-layer group of every socket a user has open."""
    return f"user.{user_id}"


# --- Writes -------------------------------------------------------------------------------


def _clean_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR, fields={"body": ["Write a message first."]}
        )
    if len(body) > MESSAGE_MAX_LENGTH:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={"body": [f"Keep it under {MESSAGE_MAX_LENGTH} characters."]},
        )
    return body


@transaction.atomic
def chat_channel_create(
    *, title: str, created_by: User, course: Course | None = None
) -> ChatChannel:
    """A channel for `course` (its instructors or staff), or school-wide (staff only)."""
    allowed = (
        user_has_staff_role(created_by)
        if course is None
        else is_course_editor(user=created_by, course=course)
    )
    if not allowed:
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)
    title = (title or "").strip()
    if not title or len(title) > CHANNEL_TITLE_MAX_LENGTH:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={"title": [f"Give a title of 1 to {CHANNEL_TITLE_MAX_LENGTH} characters."]},
        )
    return ChatChannel.objects.create(course=course, title=title, created_by=created_by)


def _rate_limit(*, user: User, channel: ChatChannel, now) -> None:
    window_start = now - RATE_LIMIT_WINDOW
    recent = list(
        ChatMessage.objects.filter(channel=channel, author=user, created_at__gt=window_start)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:RATE_LIMIT_MESSAGES]
    )
    if len(recent) >= RATE_LIMIT_MESSAGES:
        raise ApplicationError(ErrorCode.CHAT_RATE_LIMITED, retry_at=recent[-1] + RATE_LIMIT_WINDOW)


def _existing(*, author: User | None, channel: ChatChannel, client_id: uuid.UUID):
    message = (
        ChatMessage.objects.select_related("author")
        .filter(author=author, client_id=client_id)
        .first()
    )
    if message is not None and message.channel_id != channel.pk:
        raise ApplicationError(ErrorCode.CHAT_CLIENT_ID_REUSED)
    return message


def _create(
    *, channel: ChatChannel, author: User | None, body: str, client_id: uuid.UUID | None
) -> ChatMessage:
    """Number and store the message under the channel's row lock (held until commit)."""
    locked = ChatChannel.objects.select_for_update().get(pk=channel.pk)
    if client_id is not None:
        existing = _existing(author=author, channel=channel, client_id=client_id)
        if existing is not None:
            return existing
    if author is not None:
        _rate_limit(user=author, channel=channel, now=timezone.now())
    locked.last_seq += 1
    locked.save(update_fields=["last_seq"])
    message = ChatMessage(
        channel=locked,
        seq=locked.last_seq,
        author=author,
        body=body,
        body_html=str(render_markdown(body)),
        client_id=client_id,
    )
    try:
        with transaction.atomic():
            message.save(force_insert=True)
    except IntegrityError:
        # The same client id, sent at once for a message in another channel.
        raise ApplicationError(ErrorCode.CHAT_CLIENT_ID_REUSED) from None
    message.is_new = True  # not stored: tells a repeated send (False) from the first
    _broadcast(
        group=locked.group_name, payload={"type": "message", "message": chat_message_data(message)}
    )
    return message


@transaction.atomic
def chat_message_post(
    *, user: User, channel: ChatChannel, body: str, client_id: uuid.UUID | None = None
) -> ChatMessage:
    """Post a message. Sending again with the same `client_id` returns the first message
    (and broadcasts nothing; its `is_new` is False, a new message's True); more than
    RATE_LIMIT_MESSAGES per window is refused (429)."""
    if not chat_member_allowed(user=user, channel=channel):
        raise AccessDeniedError(
            ErrorCode.LOGIN_REQUIRED if not _signed_in(user) else ErrorCode.UPGRADE_REQUIRED
        )
    if channel.is_archived:
        raise ApplicationError(ErrorCode.CHAT_CHANNEL_ARCHIVED)
    return _create(channel=channel, author=user, body=_clean_body(body), client_id=client_id)


@transaction.atomic
def chat_system_message_post(
    *, channel: ChatChannel, body: str, client_id: uuid.UUID
) -> ChatMessage:
    """A message from the site itself (no author), idempotent by `client_id`."""
    return _create(channel=channel, author=None, body=_clean_body(body), client_id=client_id)


def chat_announcement_post(*, announcement: Any) -> ChatMessage | None:
    """Post a published announcement to its course's first open channel, if it has one.

    Idempotent: the announcement's id is the message's client id."""
    channel = (
        ChatChannel.objects.filter(course_id=announcement.course_id, is_archived=False)
        .order_by("created_at", "id")
        .first()
    )
    if channel is None:
        return None
    body = f"**Announcement: {announcement.title}**\n\n{announcement.body}"
    return chat_system_message_post(channel=channel, body=body, client_id=announcement.pk)


def _locked_message(message: ChatMessage) -> ChatMessage:
    return (
        ChatMessage.objects.select_for_update(of=("self",))
        .select_related("author", "channel__course")
        .get(pk=message.pk)
    )


@transaction.atomic
def chat_message_edit(*, user: User, message: ChatMessage, body: str) -> ChatMessage:
    """The author changes their message's text; everyone sees `message.edit`."""
    body = _clean_body(body)
    message = _locked_message(message)
    if message.author_id != user.pk or not message.is_visible:
        raise AccessDeniedError(ErrorCode.CHAT_NOT_YOUR_MESSAGE)
    if not chat_member_allowed(user=user, channel=message.channel):
        raise AccessDeniedError(ErrorCode.UPGRADE_REQUIRED)
    if message.channel.is_archived:
        raise ApplicationError(ErrorCode.CHAT_CHANNEL_ARCHIVED)
    if body == message.body:
        return message
    message.body = body
    message.body_html = str(render_markdown(body))
    message.edited_at = timezone.now()
    message.save(update_fields=["body", "body_html", "edited_at"])
    _broadcast(
        group=message.channel.group_name,
        payload={"type": "message.edit", "message": chat_message_data(message)},
    )
    return message


def _remove(*, user: User, message: ChatMessage, hide: bool) -> ChatMessage:
    message = _locked_message(message)
    if not message.is_visible:
        return message  # already gone: nothing to tell anyone
    if hide:
        message.is_hidden = True
    else:
        message.deleted_at = timezone.now()
        message.body = ""
        message.body_html = ""
    message.removed_by = user
    message.save(update_fields=["is_hidden", "deleted_at", "body", "body_html", "removed_by"])
    _broadcast(
        group=message.channel.group_name,
        payload={
            "type": "message.delete",
            "message": {
                "id": str(message.pk),
                "seq": message.seq,
                "channel": str(message.channel_id),
            },
            "reason": "hidden" if hide else "deleted",
        },
    )
    return message


@transaction.atomic
def chat_message_delete(*, user: User, message: ChatMessage) -> ChatMessage:
    """Delete one's own message, or anyone's as a moderator; everyone sees `message.delete`."""
    own = message.author_id == user.pk and chat_member_allowed(user=user, channel=message.channel)
    if not own and not chat_user_can_moderate(user=user, channel=message.channel):
        raise AccessDeniedError(ErrorCode.CHAT_NOT_YOUR_MESSAGE)
    return _remove(user=user, message=message, hide=False)


@transaction.atomic
def chat_message_hide(*, user: User, message: ChatMessage) -> ChatMessage:
    """A moderator hides a message (kept for the admin); everyone sees `message.delete`."""
    if not chat_user_can_moderate(user=user, channel=message.channel):
        raise AccessDeniedError(ErrorCode.PERMISSION_DENIED)
    return _remove(user=user, message=message, hide=True)
