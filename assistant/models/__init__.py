"""Assistant models, one module per concern: `calls` (every provider call, its tokens and
cost), `drafts` (generated lesson notes and quizzes awaiting approval), `tutor`
(conversations, quotas, usage)."""

from assistant.models.calls import LLMCall
from assistant.models.drafts import Draft
from assistant.models.tutor import Conversation, Message, TutorQuota, TutorUsage

__all__ = ["Conversation", "Draft", "LLMCall", "Message", "TutorQuota", "TutorUsage"]
