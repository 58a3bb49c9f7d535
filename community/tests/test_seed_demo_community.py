"""The demo school's community (`seed_demo` runs `seed_demo_community`): a course chat, a
lesson discussion with the instructor's answer, an announcement; the same after a rerun."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from community.models import Announcement, ChatChannel, ChatMessage, Reply, Thread
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _development_site(settings):
    settings.DEBUG = True  # seed_demo refuses to run with DEBUG off


def _community() -> dict:
    return {
        "channels": set(ChatChannel.objects.values_list("pk", "course__slug", "title")),
        "messages": list(
            ChatMessage.objects.order_by("seq").values_list("pk", "seq", "author__email", "body")
        ),
        "threads": set(
            Thread.objects.values_list("pk", "lesson__slug", "author__email", "timestamp_seconds")
        ),
        "replies": list(
            Reply.objects.order_by("created_at").values_list(
                "pk", "author__email", "is_instructor_answer"
            )
        ),
        "announcements": set(Announcement.objects.values_list("pk", "status", "published_at")),
        "notifications": set(Notification.objects.values_list("pk", "user__email", "kind")),
    }


def test_the_demo_school_has_a_chat_a_discussion_and_an_announcement_once(
    django_capture_on_commit_callbacks,
):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=out)
    first = _community()

    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())

    assert _community() == first
    assert "Community: chat 'Salsa Foundations lounge' with 5 messages" in out.getvalue()
    assert [title for _pk, _course, title in first["channels"]] == ["Salsa Foundations lounge"]
    authors = [author for _pk, _seq, author, _body in first["messages"]]
    assert authors == [
        "staff@example.com",
        "learner@example.com",
        "staff@example.com",
        "learner@example.com",
        None,  # the announcement, posted by the site
    ]
    assert "Practice night on Thursday" in first["messages"][-1][3]
    ((_pk, lesson, asker, timestamp),) = first["threads"]
    assert (lesson, asker) == ("finding-the-beat", "learner@example.com")
    assert timestamp is not None and timestamp > 0
    assert [(author, answer) for _pk, author, answer in first["replies"]] == [
        ("staff@example.com", True),
        ("learner@example.com", False),
    ]
    assert [status for _pk, status, _at in first["announcements"]] == ["published"]
    # The demo learner's bell: the instructor's reply and the announcement (and, from the
    # showcase's seed, its project review).
    assert sorted(
        kind
        for _pk, email, kind in first["notifications"]
        if email == "learner@example.com" and kind != "project_review"
    ) == ["announcement", "reply"]


def test_it_needs_the_demo_school_first():
    with pytest.raises(CommandError, match=r"run `manage\.py seed_demo` first"):
        call_command("seed_demo_community", stdout=StringIO())
