"""The chat page: history, a send form that works without JavaScript, moderation buttons."""

import re
import uuid

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from billing.tests.factories import TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from community.models import ChatChannel, ChatMessage
from community.services.chat import chat_message_post

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_course_page_links_to_its_chat_and_the_chat_page_shows_the_history():
    course = CourseFactory(title="Rhythm")
    channel = ChatChannel.objects.create(course=course, title="Rhythm chat")
    chat_message_post(user=UserFactory(display_name="Ana"), channel=channel, body="<b>x</b> **hi**")
    learner = signed_in(UserFactory())

    course_page = learner.get(course.get_absolute_url()).content.decode()
    assert f'href="/chat/course/{course.slug}/"' in course_page
    chat = learner.get(f"/chat/course/{course.slug}/", follow=True)

    assert chat.redirect_chain == [(f"/chat/{channel.pk}/", 302)]
    html = chat.content.decode()
    assert "Rhythm chat" in html and "Ana" in html
    assert "<strong>hi</strong>" in html
    assert f'data-socket-path="/ws/chat/{channel.pk}/" data-last-seq="1"' in html
    assert '<script src="/static/js/chat.js" defer></script>' in html


def test_sending_without_javascript_posts_the_form_once_and_shows_errors_at_400():
    channel = ChatChannel.objects.create(title="Lounge")
    learner = signed_in(UserFactory())
    page = learner.get(f"/chat/{channel.pk}/").content.decode()
    client_id = re.search(r'name="client_id" value="([0-9a-f-]{36})"', page).group(1)

    sent = learner.post(f"/chat/{channel.pk}/", {"body": "hello", "client_id": client_id})
    again = learner.post(f"/chat/{channel.pk}/", {"body": "hello", "client_id": client_id})
    empty = learner.post(f"/chat/{channel.pk}/", {"body": "  ", "client_id": str(uuid.uuid4())})

    assert (sent.status_code, sent["Location"]) == (302, f"/chat/{channel.pk}/#m-1")
    assert again["Location"] == f"/chat/{channel.pk}/#m-1"
    assert ChatMessage.objects.count() == 1
    assert empty.status_code == 400
    assert "Write a message first." in empty.content.decode()


def test_a_moderator_hides_from_the_page_and_an_outsider_is_refused():
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())
    channel = ChatChannel.objects.create(course=course, title="Members")
    instructor = UserFactory(is_staff=True)
    course.instructors.add(instructor)
    message = chat_message_post(user=instructor, channel=channel, body="pinned?")
    learner_message = ChatMessage.objects.create(
        channel=channel, seq=2, author=UserFactory(), body="spam", body_html="<p>spam</p>"
    )

    assert signed_in(UserFactory()).get(f"/chat/{channel.pk}/").status_code == 403
    assert Client().get(f"/chat/{channel.pk}/").status_code == 302  # to sign in
    moderator = signed_in(instructor)
    page = moderator.get(f"/chat/{channel.pk}/").content.decode()
    assert 'value="hide"' in page and 'value="delete"' in page
    hidden = moderator.post(
        f"/chat/{channel.pk}/messages/{learner_message.pk}/remove/", {"action": "hide"}
    )

    assert hidden.status_code == 302
    learner_message.refresh_from_db()
    assert learner_message.is_hidden
    assert "spam" not in moderator.get(f"/chat/{channel.pk}/").content.decode()
    assert message.body in moderator.get(f"/chat/{channel.pk}/").content.decode()


def test_staff_create_a_school_wide_channel_in_the_admin():
    staff = UserFactory(is_staff=True, is_superuser=True)
    admin = signed_in(staff)

    response = admin.post(
        "/admin/community/chatchannel/add/", {"title": "Lounge", "course": "", "is_archived": ""}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    channel = ChatChannel.objects.get()
    assert (channel.title, channel.course, channel.created_by) == ("Lounge", None, staff)
    assert admin.get("/admin/community/chatmessage/").status_code == 200
