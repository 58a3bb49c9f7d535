"""Reads of lesson discussions: who may read and moderate, lists and single posts.

Who may read is the access policy's answer for the lesson (`catalog.access`): a lesson the
user cannot see is LESSON_NOT_FOUND, one they cannot open LOGIN_REQUIRED/UPGRADE_REQUIRED,
as for the lesson itself. Hidden posts are shown to moderators only (marked), deleted ones
to nobody on the site (the admin keeps them).
"""

import re
import uuid

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet
from django.utils.safestring import SafeString, mark_safe

from accounts.models import User
from accounts.roles import Role, user_role_get
from catalog.access import is_course_editor, lesson_access, lesson_is_visible
from catalog.models import Course, Lesson
from catalog.selectors import lesson_get_by_id
from community.models import Reply, Thread
from lms.errors import ErrorCode, NotFoundError
from lms.markdown import render_markdown


def discussion_can_moderate(*, user: User | AnonymousUser, course: Course) -> bool:
    """Staff, moderators, and the course's own instructors moderate its discussions."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user_role_get(user) in (Role.STAFF, Role.MODERATOR):
        return True
    return is_course_editor(user=user, course=course)


def discussion_lesson_open_require(*, user: User | AnonymousUser, lesson: Lesson) -> None:
    """Raise as the lesson page would when the user may not open the lesson (the tier, then
    the structure rules: LOCKED_PREREQUISITE / LOCKED_UNTIL). Hidden lessons were already
    404 (`lesson_get_by_id`)."""
    lesson_access(user=user, course=lesson.course, lesson=lesson).require()


def discussion_lesson_get(*, user: User | AnonymousUser, lesson_id: uuid.UUID | str) -> Lesson:
    """The lesson whose discussion the user may read (404 or 403 inside)."""
    lesson = lesson_get_by_id(user=user, lesson_id=lesson_id)
    discussion_lesson_open_require(user=user, lesson=lesson)
    return lesson


def _visible(*, moderator: bool) -> Q:
    return Q(deleted_at__isnull=True) if moderator else Q(deleted_at__isnull=True, is_hidden=False)


def threads_list(*, lesson: Lesson, moderator: bool = False) -> QuerySet[Thread]:
    """The lesson's threads, pinned first then the liveliest, each with `reply_count` (its
    replies the reader can see): one query, whatever the number of threads."""
    replies_seen = Q(replies__deleted_at__isnull=True)
    if not moderator:
        replies_seen &= Q(replies__is_hidden=False)
    return (
        Thread.objects.filter(_visible(moderator=moderator), lesson=lesson)
        .select_related("author")
        .annotate(reply_count=Count("replies", filter=replies_seen))
        .order_by("-is_pinned", "-last_activity_at", "-id")
    )


def thread_get(
    *, user: User | AnonymousUser, thread_id: uuid.UUID | str, for_update: bool = False
) -> Thread:
    """A thread the user may read, with its lesson and course (404/403 as for the lesson)."""
    queryset = Thread.objects.select_related(
        "author", "lesson", "lesson__course", "lesson__course__required_tier", "lesson__section"
    )
    try:
        thread = queryset.filter(pk=thread_id).first()
    except (ValueError, TypeError, ValidationError):
        thread = None
    if thread is None or thread.deleted_at is not None:
        raise NotFoundError(ErrorCode.THREAD_NOT_FOUND)
    # The lesson must still be visible and open to this user, as its page is.
    lesson = discussion_lesson_get(user=user, lesson_id=thread.lesson_id)
    thread.lesson = lesson
    if thread.is_hidden and not discussion_can_moderate(user=user, course=lesson.course):
        raise NotFoundError(ErrorCode.THREAD_NOT_FOUND)
    return thread


def replies_list(*, thread: Thread, moderator: bool = False) -> QuerySet[Reply]:
    """The thread's replies, oldest first, with their authors: one query for any number."""
    return (
        Reply.objects.filter(_visible(moderator=moderator), thread=thread)
        .select_related("author")
        .order_by("created_at", "id")
    )


def reply_get(*, user: User | AnonymousUser, reply_id: uuid.UUID | str) -> Reply:
    """A reply the user may read, with its thread, lesson and course."""
    try:
        reply = Reply.objects.select_related("author").filter(pk=reply_id).first()
    except (ValueError, TypeError, ValidationError):
        reply = None
    if reply is None or reply.deleted_at is not None:
        raise NotFoundError(ErrorCode.REPLY_NOT_FOUND)
    try:
        reply.thread = thread_get(user=user, thread_id=reply.thread_id)
    except NotFoundError as exc:
        if exc.code == ErrorCode.THREAD_NOT_FOUND:
            raise NotFoundError(ErrorCode.REPLY_NOT_FOUND) from None
        raise
    if reply.is_hidden and not discussion_can_moderate(
        user=user, course=reply.thread.lesson.course
    ):
        raise NotFoundError(ErrorCode.REPLY_NOT_FOUND)
    return reply


# --- Mentions ------------------------------------------------------------------------------
# `@[Display Name]` mentions anyone by their full display name; `@Name` a one-word name.
# Names are matched, case-insensitively, among the course's people (its instructors, its
# enrolled learners, and everyone who posted in its discussions); a name two of them share
# mentions nobody (we cannot tell whom), and people who cannot open the lesson are never told.
MENTION_PATTERN = r"(?<![\w@])@(?:\[([^\[\]<>@\n]{1,80})\]|([^\W\d_][\w'-]{1,39}))"
MENTIONS_MAX = 10


def mention_names_parse(text: str) -> list[str]:
    """The distinct names mentioned in `text`, in order, at most MENTIONS_MAX."""
    names: dict[str, str] = {}
    for bracketed, word in re.findall(MENTION_PATTERN, text or ""):
        name = " ".join((bracketed or word).split())
        if name:
            names.setdefault(name.casefold(), name)
    return list(names.values())[:MENTIONS_MAX]


def mentioned_users_get(*, text: str, lesson: Lesson) -> list[User]:
    """The people `text` mentions who may open the lesson (one query, plus the access
    policy's for each of at most MENTIONS_MAX people)."""
    names = mention_names_parse(text)
    if not names:
        return []
    course = lesson.course
    by_name = Q()
    for name in names:
        by_name |= Q(display_name__iexact=name)
    in_course = (
        Q(taught_courses=course)
        | Q(enrollments__course=course)
        | Q(discussion_threads__lesson__course=course)
        | Q(discussion_replies__thread__lesson__course=course)
    )
    candidates = User.objects.filter(by_name, in_course, is_active=True).distinct()
    matches: dict[str, list[User]] = {}
    for person in candidates[: MENTIONS_MAX * 4]:
        matches.setdefault(person.display_name.casefold(), []).append(person)
    people = [found[0] for found in matches.values() if len(found) == 1]
    return [
        person
        for person in people
        # Hidden lessons exist for editors only; locked ones (tier or structure) open to none.
        if lesson_is_visible(user=person, course=course, lesson=lesson)
        and lesson_access(user=person, course=course, lesson=lesson).allowed
    ]


_MENTION_HTML = re.compile(r"(?<![\w@])@\[([^\[\]<>@\n]{1,80})\]")


def post_html(text: str) -> SafeString:
    """A post's Markdown as sanitized HTML (`lms.markdown`), bracketed mentions shown as
    names. The replacement runs on sanitized output and adds only a span around text that
    holds no markup, so it cannot open a hole."""
    html = render_markdown(text)
    return mark_safe(  # noqa: S308 - see above
        _MENTION_HTML.sub(r'<span class="mention">@\1</span>', str(html))
    )
