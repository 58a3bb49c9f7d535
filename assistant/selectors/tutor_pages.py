"""What the tutor's pages read: a learner's conversations (only ever their own), the latest one
of a lesson with its messages, and the flagged answers staff review."""

from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery

from accounts.models import User
from assistant.models import Conversation, Message
from catalog.models import Lesson


def conversations_of(*, user: User) -> QuerySet[Conversation]:
    """The learner's conversations, newest first, with their lesson and course, the number of
    questions and the first one asked (for the list page; constant queries per page)."""
    first_question = Message.objects.filter(
        conversation=OuterRef("pk"), role=Message.Role.USER
    ).order_by("created_at")
    return (
        Conversation.objects.filter(user=user)
        .select_related("lesson__course")
        .annotate(
            question_count=Count("messages", filter=Q(messages__role=Message.Role.USER)),
            first_question=Subquery(first_question.values("text")[:1]),
        )
        .order_by("-updated_at")
    )


def conversation_latest_get(*, user: User, lesson: Lesson) -> Conversation | None:
    """The learner's most recent conversation about the lesson (the lesson page continues it),
    its messages prefetched in order."""
    return (
        Conversation.objects.filter(user=user, lesson=lesson)
        .order_by("-updated_at")
        .prefetch_related(Prefetch("messages", queryset=Message.objects.order_by("created_at")))
        .first()
    )


def flagged_answers() -> QuerySet[Message]:
    """Answers learners reported, for staff: the only tutor messages the admin shows."""
    return Message.objects.filter(
        role=Message.Role.ASSISTANT, flagged_at__isnull=False
    ).select_related("conversation__user", "conversation__lesson__course", "reviewed_by")


def question_of(*, answer: Message) -> Message | None:
    """The learner's question an answer replies to: the last one before it."""
    return (
        Message.objects.filter(
            conversation_id=answer.conversation_id,
            role=Message.Role.USER,
            created_at__lte=answer.created_at,
        )
        .order_by("-created_at")
        .first()
    )
