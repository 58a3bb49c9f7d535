"""An announcement reaches the course chat live: a learner's open socket (real ASGI server,
Redis channel layer) receives it as a message from the site, right after it is published."""

import pytest

from accounts.tests.factories import UserFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from community.models import ChatChannel
from community.services.announcements import announcement_create
from progress.tests.factories import EnrollmentFactory

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def test_a_published_announcement_arrives_on_the_open_chat_sockets(asgi_server):
    instructor = UserFactory(display_name="Teo Teacher")
    course = CourseFactory(visibility=Course.Visibility.MEMBERS, instructors=[instructor])
    learner = EnrollmentFactory(course=course).user
    channel = ChatChannel.objects.create(course=course, title="Lounge")
    socket = asgi_server.connect(f"/ws/chat/{channel.pk}/?after=0", user=learner)
    socket.receive_until("ready")

    announcement_create(
        course=course,
        author=instructor,
        title="Class moves to Thursday",
        body="Same time, **room 4**.",
        publish=True,
    )

    message = socket.receive_until("message")["message"]
    assert (message["seq"], message["author"]) == (1, None)
    assert "Class moves to Thursday" in message["body"]
    assert "<strong>room 4</strong>" in message["body_html"]
    assert learner.notifications.get().title == f"{course.title}: Class moves to Thursday"
