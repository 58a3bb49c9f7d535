"""The lesson tutor: a learner asks about a lesson they may open and gets an answer grounded
in the course's lessons they may open, cited; conversations they keep and may delete; answers
they flag for staff to review.

`tutor_ask` is the one way in (API and page alike):
1. the question is checked (1..2000 characters), the lesson must be published and open to
   the learner (`catalog.access`), and the provider configured (AI_NOT_CONFIGURED);
2. one question of the learner's daily quota is taken (`tutor_quota`), committed;
3. the sources are retrieved and the prompt built (`tutor_context`), the provider called
   (`assistant.llm`, outside any transaction, which records the call and its cost);
4. the question and the answer, with the lessons it cites, are saved in the conversation.
A provider failure (or a budget reached) gives the question back and saves nothing.

Streaming (`stream=True`) returns a `TutorStream` of `TutorEvent`s: `conversation`, then
`delta`s, `citations` and `done`, or `error` when the provider fails midway. The first delta
is read before it returns, so failures before any text raise as usual (an HTTP error, not an
event).
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from assistant.llm import AIError, AINotConfigured, chat_complete, chat_stream, llm_configured
from assistant.models import Conversation, Message
from assistant.services.tutor_context import (
    HISTORY_MESSAGES,
    Source,
    citations_from,
    tutor_messages_build,
    tutor_sources_for,
)
from assistant.services.tutor_quota import QuotaState, tutor_quota_give_back, tutor_quota_take
from catalog.access import lesson_access, lesson_is_visible
from catalog.models import Lesson
from lms.errors import ApplicationError, ErrorCode, NotFoundError

PURPOSE = "tutor"
QUESTION_MAX_CHARS = 2000
FLAG_REASON_MAX_CHARS = 500


# --- What a question gives back ---------------------------------------------------------------
@dataclass(frozen=True)
class TutorAnswer:
    conversation: Conversation
    question: Message
    answer: Message
    quota: QuotaState

    @property
    def citations(self) -> list[dict]:
        return self.answer.citations


@dataclass(frozen=True)
class TutorEvent:
    """One server-sent event: `name` (conversation, delta, citations, done, error) and its
    JSON-ready `data`."""

    name: str
    data: Any


@dataclass
class _Asked:
    """What `tutor_ask` has prepared for one question, shared by both ways of answering."""

    user: User
    lesson: Lesson
    question: str
    conversation: Conversation | None
    conversation_id: uuid.UUID
    sources: list[Source]
    messages: list[dict[str, str]]
    quota: QuotaState
    asked_at: datetime = field(default_factory=timezone.now)


# --- Checks -----------------------------------------------------------------------------------
def _question_clean(question: str) -> str:
    question = (question or "").strip()
    if not question:
        message = "Write a question for the tutor."
    elif len(question) > QUESTION_MAX_CHARS:
        message = f"Ask in at most {QUESTION_MAX_CHARS} characters."
    else:
        return question
    raise ApplicationError(ErrorCode.VALIDATION_ERROR, fields={"question": [message]})


def tutor_lesson_check(*, user: User, lesson: Lesson) -> None:
    """Refuse a lesson the tutor does not answer about for this user: locked by the access
    policy (LOGIN_REQUIRED / UPGRADE_REQUIRED, LOCKED_PREREQUISITE / LOCKED_UNTIL; a hidden
    lesson is LESSON_NOT_FOUND), or an editor's preview of unpublished
    content (PREVIEW_ONLY: the tutor cites published lessons only)."""
    if not lesson_is_visible(user=user, course=lesson.course, lesson=lesson):
        raise NotFoundError(ErrorCode.LESSON_NOT_FOUND)  # hidden (`catalog.structure`)
    # The tier, then the structure rules (LOCKED_PREREQUISITE / LOCKED_UNTIL).
    lesson_access(user=user, course=lesson.course, lesson=lesson).require()
    if lesson.is_preview_only:
        raise ApplicationError(
            ErrorCode.PREVIEW_ONLY, "The tutor answers about published lessons only."
        )


def tutor_conversation_get(*, user: User, conversation_id: Any) -> Conversation:
    """One of the user's own conversations (TUTOR_CONVERSATION_NOT_FOUND otherwise)."""
    try:
        conversation = (
            Conversation.objects.select_related("lesson__course")
            .filter(user=user, pk=conversation_id)
            .first()
        )
    except (ValueError, TypeError, ValidationError):  # not a UUID
        conversation = None
    if conversation is None:
        raise NotFoundError(ErrorCode.TUTOR_CONVERSATION_NOT_FOUND)
    return conversation


def tutor_answer_get(*, user: User, message_id: Any) -> Message:
    """One of the tutor's answers in the user's own conversations (TUTOR_MESSAGE_NOT_FOUND)."""
    try:
        message = (
            Message.objects.select_related("conversation__lesson__course")
            .filter(conversation__user=user, role=Message.Role.ASSISTANT, pk=message_id)
            .first()
        )
    except (ValueError, TypeError, ValidationError):  # not a UUID
        message = None
    if message is None:
        raise NotFoundError(ErrorCode.TUTOR_MESSAGE_NOT_FOUND)
    return message


def _history(conversation: Conversation | None) -> list[tuple[str, str]]:
    if conversation is None:
        return []
    recent = list(
        conversation.messages.order_by("-created_at").values_list("role", "text")[:HISTORY_MESSAGES]
    )
    return list(reversed(recent))


# --- Asking -----------------------------------------------------------------------------------
def _prepare(
    *,
    user: User,
    lesson: Lesson,
    question: str,
    conversation_id: Any,
    now: datetime | None,
) -> _Asked:
    question = _question_clean(question)
    tutor_lesson_check(user=user, lesson=lesson)
    if not llm_configured():
        raise AINotConfigured()
    conversation = None
    if conversation_id:
        conversation = tutor_conversation_get(user=user, conversation_id=conversation_id)
        if conversation.lesson_id != lesson.pk:
            raise NotFoundError(ErrorCode.TUTOR_CONVERSATION_NOT_FOUND)
    sources = tutor_sources_for(user=user, lesson=lesson, question=question)
    messages = tutor_messages_build(
        lesson=lesson, sources=sources, history=_history(conversation), question=question
    )
    quota = tutor_quota_take(user=user, now=now)
    return _Asked(
        user=user,
        lesson=lesson,
        question=question,
        conversation=conversation,
        conversation_id=conversation.pk if conversation else uuid.uuid4(),
        sources=sources,
        messages=messages,
        quota=quota,
    )


def _call_args(asked: _Asked) -> dict[str, Any]:
    return {
        "messages": asked.messages,
        "purpose": PURPOSE,
        "user": asked.user,
        "course_id": asked.lesson.course_id,
        "lesson_id": asked.lesson.pk,
        "max_tokens": settings.LMS_TUTOR_MAX_ANSWER_TOKENS,
    }


def tutor_ask(
    *,
    user: User,
    lesson: Lesson,
    question: str,
    conversation_id: Any = None,
    stream: bool = False,
    now: datetime | None = None,
) -> "TutorAnswer | TutorStream":
    """Ask the tutor about `lesson` (see the module's docstring). Call it outside any
    transaction: the quota is committed before the provider is called."""
    asked = _prepare(
        user=user, lesson=lesson, question=question, conversation_id=conversation_id, now=now
    )
    try:
        if stream:
            return TutorStream(asked=asked, deltas=chat_stream(**_call_args(asked)))
        result = chat_complete(**_call_args(asked))
    except BaseException:
        tutor_quota_give_back(user=user, day=asked.quota.day)
        raise
    return _answer_save(asked=asked, text=result.text, call_id=result.call_id)


@transaction.atomic
def _answer_save(*, asked: _Asked, text: str, call_id: Any) -> TutorAnswer:
    """The question and its answer, in the conversation (created on its first question)."""
    now = timezone.now()
    conversation, created = Conversation.objects.get_or_create(
        pk=asked.conversation_id,
        defaults={
            "user": asked.user,
            "lesson": asked.lesson,
            "created_at": asked.asked_at,
            "updated_at": now,
        },
    )
    if not created:
        Conversation.objects.filter(pk=conversation.pk).update(updated_at=now)
        conversation.updated_at = now
    question = Message.objects.create(
        conversation=conversation,
        role=Message.Role.USER,
        text=asked.question,
        created_at=min(asked.asked_at, now - timedelta(microseconds=1)),
    )
    answer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text=text,
        citations=citations_from(answer=text, sources=asked.sources),
        llm_call_id=call_id,
        created_at=now,
    )
    return TutorAnswer(
        conversation=conversation, question=question, answer=answer, quota=asked.quota
    )


class TutorStream:
    """The events of one streamed answer (iterate once). Closing it early (the client went
    away) stops the provider's stream and keeps what was answered so far."""

    def __init__(self, *, asked: _Asked, deltas: Any) -> None:
        self._asked = asked
        self._deltas = deltas
        self._events = self._run()
        self.answer: TutorAnswer | None = None

    @property
    def conversation_id(self) -> uuid.UUID:
        return self._asked.conversation_id

    @property
    def quota(self) -> QuotaState:
        return self._asked.quota

    def __iter__(self) -> Iterator[TutorEvent]:
        return self._events

    def close(self) -> None:
        self._events.close()

    def _run(self) -> Iterator[TutorEvent]:
        asked = self._asked
        quota = asked.quota.as_dict()
        parts: list[str] = []
        try:
            yield TutorEvent("conversation", {"id": str(asked.conversation_id), "quota": quota})
            for text in self._deltas:
                parts.append(text)
                yield TutorEvent("delta", {"text": text})
        except AIError as error:
            tutor_quota_give_back(user=asked.user, day=asked.quota.day)
            yield TutorEvent("error", {"code": str(error.code), "message": error.message})
            return
        except GeneratorExit:
            # The client went away: stop the provider, keep what the learner saw.
            self._deltas.close()
            if parts:
                self._save("".join(parts))
            raise
        answer = self._save("".join(parts))
        yield TutorEvent("citations", answer.citations)
        yield TutorEvent("done", {"message_id": str(answer.answer.id), "quota": quota})

    def _save(self, text: str) -> TutorAnswer:
        self.answer = _answer_save(
            asked=self._asked, text=text, call_id=getattr(self._deltas, "call_id", None)
        )
        return self.answer


# --- Conversations and flags ------------------------------------------------------------------
def tutor_conversation_delete(*, user: User, conversation: Conversation) -> None:
    """Delete one of the learner's conversations with all its messages, for good."""
    if conversation.user_id != user.pk:
        raise NotFoundError(ErrorCode.TUTOR_CONVERSATION_NOT_FOUND)
    conversation.delete()


def tutor_message_flag(*, user: User, message: Message, reason: str = "") -> Message:
    """The learner reports an answer (wrong, unsafe, off-topic) for staff to review.
    Flagging again updates the reason and puts it back in the review list."""
    if message.conversation.user_id != user.pk or message.role != Message.Role.ASSISTANT:
        raise NotFoundError(ErrorCode.TUTOR_MESSAGE_NOT_FOUND)
    reason = (reason or "").strip()
    if len(reason) > FLAG_REASON_MAX_CHARS:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR,
            fields={"reason": [f"At most {FLAG_REASON_MAX_CHARS} characters."]},
        )
    message.flagged_at = timezone.now()
    message.flag_reason = reason
    message.reviewed_by = None
    message.reviewed_at = None
    message.save(update_fields=["flagged_at", "flag_reason", "reviewed_by", "reviewed_at"])
    return message


def tutor_message_review(*, reviewer: User, message: Message) -> Message:
    """Staff mark a flagged answer as reviewed (who, when)."""
    message.reviewed_by = reviewer
    message.reviewed_at = timezone.now()
    message.save(update_fields=["reviewed_by", "reviewed_at"])
    return message
