"""Community models, one module per feature: `discussions` (lesson threads, replies,
reports); chat lives in its own module beside it."""

from community.models.announcements import Announcement
from community.models.chat import ChatChannel, ChatMessage
from community.models.discussions import Reply, Report, Thread

__all__ = ["Announcement", "ChatChannel", "ChatMessage", "Reply", "Report", "Thread"]
