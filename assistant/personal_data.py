"""assistant's part of a person's data (`accounts.personal_data`): the learner's tutor
conversations (questions, answers, citations, reports), their daily question counts, and the
provider calls made for them (purpose, model, tokens, cost; no text).

On deletion the conversations and counts go; the provider calls stay, unlinked from the
person, because the school's monthly spend is counted from them. Drafts are staff's work and
stay as they are.
"""

from typing import Any

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from assistant.models import Conversation, LLMCall, TutorUsage


def _export(user: User) -> dict[str, Any]:
    conversations = (
        Conversation.objects.filter(user=user)
        .select_related("lesson__course")
        .prefetch_related("messages")
        .order_by("created_at")
    )
    return {
        "tutor_conversations": [
            {
                "id": str(conversation.pk),
                "course": conversation.lesson.course.slug,
                "lesson": conversation.lesson.slug,
                "lesson_title": conversation.lesson.title,
                "created_at": conversation.created_at,
                "messages": [
                    {
                        "role": message.role,
                        "text": message.text,
                        "citations": message.citations,
                        "created_at": message.created_at,
                        "flagged_at": message.flagged_at,
                        "flag_reason": message.flag_reason,
                    }
                    for message in conversation.messages.all()
                ],
            }
            for conversation in conversations
        ],
        "tutor_questions_per_day": list(
            TutorUsage.objects.filter(user=user).order_by("day").values("day", "count")
        ),
        "ai_calls": list(
            LLMCall.objects.filter(user=user)
            .order_by("created_at")
            .values(
                "purpose", "model", "status", "prompt_tokens", "completion_tokens", "created_at"
            )
        ),
    }


def _erase(user: User) -> None:
    Conversation.objects.filter(user=user).delete()
    TutorUsage.objects.filter(user=user).delete()
    LLMCall.objects.filter(user=user).update(user=None)


personal_data_register(
    Section(
        name="assistant",
        title="AI tutor: your conversations with the lesson tutor (questions, answers, the "
        "lessons cited, answers you reported), your questions per day, and the AI calls made "
        "for you (no text).",
        export=_export,
        erase=_erase,
        on_deletion="Your tutor conversations and question counts are deleted; the AI calls "
        "made for you stay in the school's spend, without anything linking them to you.",
        covers=(
            "assistant.Conversation.user",
            "assistant.TutorUsage.user",
            "assistant.LLMCall.user",
        ),
        # Staff's work: answers they reviewed, drafts they asked for, approved or discarded.
        keeps=(
            "assistant.Message.reviewed_by",
            "assistant.Draft.created_by",
            "assistant.Draft.approved_by",
            "assistant.Draft.discarded_by",
        ),
    )
)
