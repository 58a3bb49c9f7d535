"""`manage.py seed_demo_community`: the demo school's community, through community's services.

`seed_demo` runs it at its end when this app is installed (by name, through `call_command`,
so `progress` never imports `community`); it can also run on its own after `seed_demo`.
It needs the demo people and courses that `seed_demo` creates.

Salsa Foundations gets a chat channel with a few messages between the demo learner and the
instructor, a question under its first lesson (at a moment of the video) with the
instructor's answer marked and the learner's thanks, and one announcement. Idempotent: the
channel and the thread are found by title, chat messages and the announcement carry fixed
client ids, and replies are only added to a thread that has none.
"""

import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from catalog.models import Course, Lesson
from community.models import Announcement, ChatChannel, Thread
from community.services.announcements import announcement_create
from community.services.chat import chat_channel_create, chat_message_post
from community.services.discussions import reply_answer_mark, reply_create, thread_create

# The demo school's people and course (progress/management/demo_school.py).
STAFF_EMAIL = "staff@example.com"
LEARNER_EMAIL = "learner@example.com"
COURSE_SLUG = "salsa-foundations"
LESSON_SLUG = "finding-the-beat"
CHANNEL_TITLE = "Salsa Foundations lounge"
# Fixed client ids make a rerun find what the first run posted.
NAMESPACE = uuid.UUID("6f1d7a52-3c1e-4c55-9a4b-2b1f0c7e9d11")


@dataclass(frozen=True)
class DemoPost:
    author: str  # "staff" or "learner"
    body: str


CHAT = (
    DemoPost("staff", "Welcome to the lounge! Ask anything about the course here."),
    DemoPost("learner", "Hi all! I keep rushing the pause on 4. Any tips?"),
    DemoPost("staff", "Count out loud for a week: **1 2 3 pause 5 6 7 pause**. It sticks."),
    DemoPost("learner", "Counting out loud it is. Thanks!"),
)
THREAD_TITLE = "Which instrument should I follow for the 1?"
THREAD_BODY = (
    "At this point of the video I can hear the melody change, but I can't tell where the "
    "**1** is. Should I follow the piano or the percussion?"
)
REPLIES = (
    DemoPost(
        "staff",
        "Follow the percussion: the *conga* and the *cowbell* mark the beat much more "
        "clearly than the melody. Clap with the cowbell first, then step.",
    ),
    DemoPost("learner", "The cowbell worked, I found the 1 on the second track. Thank you!"),
)
ANNOUNCEMENT_TITLE = "Practice night on Thursday"
ANNOUNCEMENT_BODY = (
    "Bring a friend and practise the **basic step** with us on Thursday at 7 pm. "
    "Ask questions in the course lounge beforehand."
)


class Command(BaseCommand):
    help = (
        "Create or refresh the demo school's community (a course chat channel with a few "
        "messages, a lesson discussion with replies, an announcement). Run after seed_demo."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Run even with DEBUG off (as seed_demo does).",
        )

    def handle(self, *args, allow_production: bool = False, **options) -> None:
        if not settings.DEBUG and not allow_production:
            raise CommandError("DEBUG is off: pass --allow-production for a throwaway site.")
        people = {
            "staff": User.objects.filter(email__iexact=STAFF_EMAIL).first(),
            "learner": User.objects.filter(email__iexact=LEARNER_EMAIL).first(),
        }
        course = Course.objects.filter(slug=COURSE_SLUG).first()
        if course is None or None in people.values():
            raise CommandError("The demo school is missing: run `manage.py seed_demo` first.")
        lesson = Lesson.objects.select_related("course").get(course=course, slug=LESSON_SLUG)
        with transaction.atomic():
            channel = self._chat_ensure(course=course, people=people)
            thread = self._discussion_ensure(lesson=lesson, people=people)
            announcement = self._announcement_ensure(course=course, staff=people["staff"])
        self._report(channel=channel, thread=thread, announcement=announcement)

    def _chat_ensure(self, *, course: Course, people: dict[str, User]) -> ChatChannel:
        channel = ChatChannel.objects.filter(course=course, title=CHANNEL_TITLE).first()
        if channel is None:
            channel = chat_channel_create(
                title=CHANNEL_TITLE, created_by=people["staff"], course=course
            )
        for number, post in enumerate(CHAT):
            chat_message_post(
                user=people[post.author],
                channel=channel,
                body=post.body,
                client_id=uuid.uuid5(NAMESPACE, f"chat-{number}"),
            )
        return channel

    def _discussion_ensure(self, *, lesson: Lesson, people: dict[str, User]) -> Thread:
        thread = Thread.objects.filter(
            lesson=lesson, author=people["learner"], title=THREAD_TITLE
        ).first()
        if thread is None:
            thread = thread_create(
                user=people["learner"],
                lesson=lesson,
                title=THREAD_TITLE,
                body=THREAD_BODY,
                # Halfway through the lesson's clip (the demo clips are short).
                timestamp_seconds=lesson.duration_seconds // 2 if lesson.duration_seconds else None,
            )
        if thread.replies.exists():
            return thread
        answer, *_others = [
            reply_create(user=people[post.author], thread=thread, body=post.body)
            for post in REPLIES
        ]
        reply_answer_mark(actor=people["staff"], reply=answer)
        return thread

    def _announcement_ensure(self, *, course: Course, staff: User) -> Announcement:
        return announcement_create(
            course=course,
            author=staff,
            title=ANNOUNCEMENT_TITLE,
            body=ANNOUNCEMENT_BODY,
            publish=True,
            client_id=uuid.uuid5(NAMESPACE, "announcement"),
        )

    def _report(self, *, channel: ChatChannel, thread: Thread, announcement: Announcement) -> None:
        out = self.stdout.write
        out(
            f"Community: chat '{channel.title}' with {channel.messages.count()} messages, "
            f"a discussion '{thread.title}' with {thread.replies.count()} replies, and the "
            f"announcement '{announcement.title}' -> {announcement.course.get_absolute_url()}"
        )
