"""Must show 1: live chat against a real ASGI server (uvicorn, `lms.tests.asgi_server`) and
the real Redis channel layer. Sockets are signed in as browsers (session cookie + Origin)."""

import threading
import uuid

import pytest
from django.test import Client

from accounts.tests.factories import UserFactory
from billing.models import Subscription
from billing.tests.factories import TierFactory
from billing.tests.fake_stripe import fake_stripe_fixture  # noqa: F401
from billing.tests.test_lifecycle import deliver, plans_fixture, subscribe  # noqa: F401
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from community.models import ChatChannel
from community.services.chat import chat_message_post

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


def path(channel: ChatChannel, after: int | None = None) -> str:
    query = "" if after is None else f"?after={after}"
    return f"/ws/chat/{channel.pk}/{query}"


def send(ws, body: str) -> None:
    ws.send_json({"type": "message.send", "client_id": str(uuid.uuid4()), "body": body})


def history(user, channel) -> tuple[int, dict]:
    client = Client()
    client.force_login(user)
    response = client.get(f"/api/v1/chat/channels/{channel.pk}/messages/")
    return response.status_code, response.json()


@pytest.fixture(name="channel")
def channel_fixture() -> ChatChannel:
    return ChatChannel.objects.create(course=CourseFactory(), title="General")


def test_two_learners_see_each_others_messages_in_order(asgi_server, channel):
    ana, ben = UserFactory(display_name="Ana"), UserFactory(display_name="Ben")
    a = asgi_server.connect(path(channel, 0), user=ana)
    b = asgi_server.connect(path(channel, 0), user=ben)
    a.receive_until("ready")
    b.receive_until("ready")
    assert b.receive_until("presence") == {"type": "presence", "online": 2}

    received: dict[str, list] = {"ana": [], "ben": []}
    for ws, body in ((a, "one"), (b, "two"), (a, "three"), (b, "four"), (a, "five")):
        send(ws, body)
        # Both hear each message before the next is sent, so the conversation has one order.
        for name, socket in (("ana", a), ("ben", b)):
            message = socket.receive_until("message")["message"]
            received[name].append((message["seq"], message["author"]["name"], message["body"]))

    conversation = [
        (1, "Ana", "one"),
        (2, "Ben", "two"),
        (3, "Ana", "three"),
        (4, "Ben", "four"),
        (5, "Ana", "five"),
    ]
    assert received == {"ana": conversation, "ben": conversation}
    a.assert_nothing(0.3)
    b.assert_nothing(0.3)


def test_a_reconnecting_client_catches_up_exactly_while_messages_keep_coming(asgi_server, channel):
    """A writer posts 40 messages from another thread while the reader drops and reconnects
    with `?after=<last seq>` again and again: it ends with 1..40, none missing, none twice."""
    writers = [UserFactory() for _ in range(5)]  # 8 each: within the rate limit
    reader = UserFactory()
    total = 40
    started = threading.Event()

    def write() -> None:
        from django.db import connection

        try:
            for n in range(total):
                chat_message_post(
                    user=writers[n % 5], channel=channel, body=f"m{n}", client_id=uuid.uuid4()
                )
                started.set()
        finally:
            connection.close()

    thread = threading.Thread(target=write)
    thread.start()
    started.wait(5)
    seqs: list[int] = []
    connections = 0
    while not seqs or seqs[-1] < total:
        connections += 1
        ws = asgi_server.connect(path(channel, seqs[-1] if seqs else 0), user=reader)
        for _ in range(5):  # a few frames, then the connection drops
            frame = ws.receive_json()
            if frame["type"] == "message":
                seqs.append(frame["message"]["seq"])
                if seqs[-1] == total:
                    break
        ws.close()
    thread.join(10)

    assert seqs == list(range(1, total + 1))
    assert connections >= total // 5


def test_a_learner_without_access_cannot_connect_or_read_history(asgi_server):
    paid = CourseFactory(visibility=Course.Visibility.PAID, required_tier=TierFactory())
    channel = ChatChannel.objects.create(course=paid, title="Members only")
    chat_message_post(user=UserFactory(is_staff=True), channel=channel, body="secret")
    outsider = UserFactory()

    ws = asgi_server.connect(path(channel, 0), user=outsider)
    assert ws.wait_closed() == 4403
    anonymous = asgi_server.connect(path(channel, 0), origin=True)
    assert anonymous.wait_closed() == 4401
    status, body = history(outsider, channel)
    assert (status, body["error"]["code"]) == (403, "UPGRADE_REQUIRED")
    assert "secret" not in str(body)


def test_moderation_removes_a_message_for_everyone(asgi_server, channel):
    learner, other, instructor = UserFactory(), UserFactory(), UserFactory(is_staff=True)
    channel.course.instructors.add(instructor)
    a = asgi_server.connect(path(channel, 0), user=learner)
    b = asgi_server.connect(path(channel, 0), user=other)
    a.receive_until("ready")
    b.receive_until("ready")
    send(a, "buy cheap watches")
    message = b.receive_until("message")["message"]
    a.receive_until("message")

    moderator = Client()
    moderator.force_login(instructor)
    response = moderator.post(f"/api/v1/chat/channels/{channel.pk}/messages/{message['id']}/hide/")

    assert response.status_code == 204
    removal = {
        "type": "message.delete",
        "message": {"id": message["id"], "seq": 1, "channel": str(channel.pk)},
        "reason": "hidden",
    }
    assert a.receive_until("message.delete") == removal
    assert b.receive_until("message.delete") == removal
    assert history(other, channel) == (200, {"results": [], "has_more": False})
    # A client reconnecting from before it no longer gets it either.
    c = asgi_server.connect(path(channel, 0), user=other)
    assert c.receive_until("ready")["last_seq"] == 1
    assert [f for f in c.skipped if f["type"] == "message"] == []


def test_a_cancelled_subscription_drops_the_socket(asgi_server, fake_stripe, plans):
    learner = UserFactory()
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=plans["advanced"].tier)
    channel = ChatChannel.objects.create(course=course, title="Advanced")
    subscription = subscribe(fake_stripe, user=learner, plan=plans["advanced"])
    ws = asgi_server.connect(path(channel, 0), user=learner)
    ws.receive_until("presence")

    # Stripe says the subscription ended; billing stores it and signals the change.
    deliver(fake_stripe.subscription_cancel(subscription.stripe_id))

    assert Subscription.objects.get(pk=subscription.pk).status == "canceled"
    assert ws.wait_closed() == 4403
    assert asgi_server.connect(path(channel, 0), user=learner).wait_closed() == 4403
