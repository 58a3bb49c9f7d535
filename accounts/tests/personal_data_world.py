"""A learner with something in every section of `accounts.personal_data`, for the export
and deletion tests: a finished course (certificate), a discussion thread and a reply, a
search event with what they typed, a notification, a picture and a Google account."""

import io
import uuid
from dataclasses import dataclass

from allauth.socialaccount.models import SocialAccount
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from accounts.models import User
from accounts.services import user_avatar_set
from accounts.tests.factories import UserFactory
from analytics.models import Event
from catalog.models import Course, Lesson
from catalog.tests.factories import CourseFactory, LessonFactory, SectionFactory
from community.models import Reply, Thread
from community.tests.factories import ReplyFactory, ThreadFactory
from notifications.models import Notification
from progress.models import Certificate
from progress.services import enrollment_enroll, lesson_complete

PASSWORD = "correct-horse-battery"


@dataclass
class World:
    user: User
    course: Course
    lesson: Lesson
    thread: Thread
    reply: Reply
    certificate: Certificate
    search_query: str


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (200, 200), "teal").save(buffer, format="PNG")
    return SimpleUploadedFile("me.png", buffer.getvalue(), content_type="image/png")


def learner_with_data(
    *, email: str, name: str, course: Course | None = None, avatar: bool = True
) -> World:
    user = UserFactory(email=email, display_name=name, verified_email=True)
    if course is None:
        course = CourseFactory(title="Rhythm basics")
        LessonFactory(section=SectionFactory(course=course), title="The beat")
    lesson = course.lessons.get()
    enrollment_enroll(user=user, course=course)
    lesson_complete(user=user, lesson=lesson)
    thread = ThreadFactory(lesson=lesson, author=user, title=f"{name} asks about the beat")
    reply = ReplyFactory(thread=thread, author=user, body=f"{name} answers themselves")
    query = f"drum lessons near {name}"
    Event.objects.create(
        event_id=uuid.uuid4(),
        type="search",
        source=Event.Source.CLIENT,
        user=user,
        app="web",
        occurred_at=timezone.now(),
        properties={"query": query, "results": 3},
    )
    Notification.objects.create(
        user=user, kind="reply", title=f"Someone replied to {name}", source=f"test:{email}"
    )
    SocialAccount.objects.create(user=user, provider="google", uid=f"google-{email}")
    if avatar:
        user_avatar_set(user=user, upload=png())
    return World(
        user=user,
        course=course,
        lesson=lesson,
        thread=thread,
        reply=reply,
        certificate=Certificate.objects.get(user=user, course=course),
        search_query=query,
    )
