"""community's part of a person's data (`accounts.personal_data`): their discussion
threads and replies, chat messages, reports, and announcements they wrote.

Deletion KEEPS the posts, attributed to "Deleted learner" (the tombstone's public name):
threads carry other learners' replies and instructors' answers, and a conversation with holes
helps nobody. The deletion page says so, and that anyone who wants a post gone deletes it
before deleting the account (a deleted post's text is wiped, as always). Reports stay in the
moderation queue, attributed to the tombstone.
"""

from typing import Any

from accounts.models import User
from accounts.personal_data import Section, personal_data_register
from community.models import Announcement, ChatMessage, Reply, Report, Thread


def _export(user: User) -> dict[str, Any]:
    return {
        "discussion_threads": list(
            Thread.objects.filter(author=user)
            .order_by("created_at")
            .values(
                "id",
                "lesson__title",
                "title",
                "body",
                "timestamp_seconds",
                "created_at",
                "edited_at",
                "deleted_at",
            )
        ),
        "discussion_replies": list(
            Reply.objects.filter(author=user)
            .order_by("created_at")
            .values("thread_id", "thread__title", "body", "created_at", "edited_at", "deleted_at")
        ),
        "chat_messages": list(
            ChatMessage.objects.filter(author=user)
            .order_by("created_at")
            .values("channel__title", "body", "created_at", "edited_at", "deleted_at")
        ),
        "reports": list(
            Report.objects.filter(reporter=user).values(
                "thread_id", "reply_id", "reason", "details", "status", "created_at"
            )
        ),
        "announcements": list(
            Announcement.objects.filter(author=user).values(
                "course__title", "title", "body", "status", "published_at"
            )
        ),
    }


def _erase(user: User) -> None:
    """Posts stay, attributed to the anonymous tombstone ("Deleted learner")."""


personal_data_register(
    Section(
        name="community",
        title="What you wrote in lesson discussions and course chats, your reports, and "
        "announcements you published.",
        export=_export,
        erase=_erase,
        on_deletion="Your discussion posts and chat messages stay, shown as written by "
        "“Deleted learner”, so the conversations they belong to still make sense. Delete "
        "any you want gone before deleting your account.",
        covers=(
            "community.Thread.author",
            "community.Reply.author",
            "community.ChatMessage.author",
            "community.Report.reporter",
            "community.Announcement.author",
        ),
        keeps=(
            "community.ChatChannel.created_by",
            "community.ChatMessage.removed_by",
            "community.Report.handled_by",
        ),
    )
)
