"""The chat socket's protocol, in process (`WebsocketCommunicator`, the in-memory layer: the
Redis layer is for the real server's tests, `test_chat_live`, whose event loop must not share
a layer object with this test's)."""

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts.models import User
from accounts.tests.factories import UserFactory
from billing.models import TierGrant
from billing.services import tier_grant_create
from billing.signals import entitlements_changed
from billing.tests.factories import TierFactory
from catalog.models import Course
from catalog.tests.factories import CourseFactory
from community.models import ChatChannel, ChatMessage
from community.routing import websocket_urlpatterns
from community.services.chat import RATE_LIMIT_MESSAGES, chat_message_post

pytestmark = pytest.mark.django_db(transaction=True)

APP = URLRouter(websocket_urlpatterns)


def socket(user, channel_id, query: str = "") -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(APP, f"/ws/chat/{channel_id}/{query}")
    communicator.scope["user"] = user
    return communicator


async def joined(user, channel: ChatChannel, query: str = "?after=0") -> WebsocketCommunicator:
    """A connected socket, past its catch-up, its `ready` and the online count."""
    ws = socket(user, channel.pk, query)
    connected, _ = await ws.connect()
    assert connected
    await frames_until(ws, "presence")
    return ws


async def frames_until(ws, kind: str, limit: int = 30) -> list[dict]:
    """Frames received up to and including the first of type `kind`."""
    frames = []
    for _ in range(limit):
        frames.append(await ws.receive_json_from(timeout=3))
        if frames[-1]["type"] == kind:
            return frames
    raise AssertionError(f"no {kind} frame in {frames}")


async def close_code(ws) -> int:
    output = await ws.receive_output(timeout=3)
    assert output["type"] == "websocket.close", output
    return output["code"]


def run(scenario):
    return async_to_sync(scenario)()


@pytest.fixture(autouse=True)
def _in_memory_layer(settings):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}


@pytest.fixture(name="channel")
def channel_fixture() -> ChatChannel:
    return ChatChannel.objects.create(course=CourseFactory(), title="General")


def post(channel, user, body):
    return chat_message_post(user=user, channel=channel, body=body)


def test_a_member_sends_and_sees_their_message_with_its_number(channel):
    learner = UserFactory(display_name="Ana")
    client_id = str(uuid.uuid4())

    async def scenario():
        ws = socket(learner, channel.pk, "?after=0")
        connected, _ = await ws.connect()
        assert connected
        first = await frames_until(ws, "presence")
        await ws.send_json_to({"type": "message.send", "client_id": client_id, "body": "Hi *all*"})
        frame = await ws.receive_json_from(timeout=3)
        await ws.disconnect()
        return first, frame

    first, frame = run(scenario)
    message = ChatMessage.objects.get()
    assert first == [
        {"type": "ready", "channel": str(channel.pk), "last_seq": 0, "complete": True},
        {"type": "presence", "online": 1},
    ]
    assert frame == {
        "type": "message",
        "message": {
            "id": str(message.pk),
            "seq": 1,
            "channel": str(channel.pk),
            "author": {"id": str(learner.pk), "name": "Ana"},
            "body": "Hi *all*",
            "body_html": "<p>Hi <em>all</em></p>",
            "created_at": message.created_at.isoformat(),
            "edited_at": None,
            "client_id": client_id,
        },
    }


def test_connecting_after_a_number_sends_the_later_messages_once_then_live_ones(channel):
    author = UserFactory()
    for body in ("one", "two", "three"):
        post(channel, author, body)
    hidden = post(channel, author, "four (deleted)")
    ChatMessage.objects.filter(pk=hidden.pk).update(deleted_at=timezone.now())
    reader = UserFactory()

    async def scenario():
        ws = socket(reader, channel.pk, "?after=1")
        await ws.connect()
        caught_up = await frames_until(ws, "ready")
        await ws.receive_json_from(timeout=3)  # presence
        await database_post(channel, author, "five")
        live = await ws.receive_json_from(timeout=3)
        assert await ws.receive_nothing(timeout=0.3)
        await ws.disconnect()
        return caught_up, live

    caught_up, live = run(scenario)
    assert [(f["type"], f.get("message", {}).get("body")) for f in caught_up] == [
        ("message", "two"),
        ("message", "three"),
        ("ready", None),
    ]
    assert [f["message"]["seq"] for f in caught_up[:2]] == [2, 3]
    assert caught_up[-1] == {
        "type": "ready",
        "channel": str(channel.pk),
        "last_seq": 4,
        "complete": True,
    }
    assert (live["message"]["seq"], live["message"]["body"]) == (5, "five")


async def database_post(channel, user, body):
    from channels.db import database_sync_to_async

    return await database_sync_to_async(post)(channel, user, body)


def test_two_sockets_see_each_others_messages_edits_and_deletes(channel):
    ana, ben = UserFactory(display_name="Ana"), UserFactory(display_name="Ben")

    async def scenario():
        a = await joined(ana, channel)
        b = await joined(ben, channel)
        assert await a.receive_json_from(timeout=3) == {"type": "presence", "online": 2}
        await a.send_json_to({"type": "message.send", "client_id": str(uuid.uuid4()), "body": "hi"})
        seen = [await b.receive_json_from(timeout=3), await a.receive_json_from(timeout=3)]
        message_id = seen[0]["message"]["id"]
        await a.send_json_to({"type": "message.edit", "id": message_id, "body": "hello"})
        edits = [await b.receive_json_from(timeout=3), await a.receive_json_from(timeout=3)]
        await b.send_json_to({"type": "message.delete", "id": message_id})
        refused = await b.receive_json_from(timeout=3)
        await a.send_json_to({"type": "message.delete", "id": message_id})
        deletes = [await b.receive_json_from(timeout=3), await a.receive_json_from(timeout=3)]
        await b.disconnect()
        left = await a.receive_json_from(timeout=3)
        await a.disconnect()
        return seen, edits, refused, deletes, left, message_id

    seen, edits, refused, deletes, left, message_id = run(scenario)
    assert [frame["message"]["body"] for frame in seen] == ["hi", "hi"]
    assert [(f["type"], f["message"]["body"]) for f in edits] == [("message.edit", "hello")] * 2
    assert edits[0]["message"]["edited_at"] is not None
    assert refused == {
        "type": "error",
        "code": "CHAT_NOT_YOUR_MESSAGE",
        "message": "Only its author (or a moderator, to delete) can change this message.",
    }
    removal = {
        "type": "message.delete",
        "message": {"id": message_id, "seq": 1, "channel": str(channel.pk)},
        "reason": "deleted",
    }
    assert deletes == [removal, removal]
    assert left == {"type": "presence", "online": 1}
    message = ChatMessage.objects.get()
    assert (message.body, message.deleted_at is not None) == ("", True)


def test_the_course_instructor_deletes_a_learners_message_for_everyone(channel):
    learner, instructor = UserFactory(), UserFactory(is_staff=True)
    channel.course.instructors.add(instructor)
    message = post(channel, learner, "spam spam")

    async def scenario():
        a = await joined(learner, channel)
        moderator = await joined(instructor, channel)
        await a.receive_json_from(timeout=3)  # presence: 2
        await moderator.send_json_to({"type": "message.delete", "id": str(message.pk)})
        frames = [
            await a.receive_json_from(timeout=3),
            await moderator.receive_json_from(timeout=3),
        ]
        await a.disconnect()
        await moderator.disconnect()
        return frames

    frames = run(scenario)
    assert {frame["type"] for frame in frames} == {"message.delete"}
    message.refresh_from_db()
    assert (message.deleted_at is not None, message.removed_by) == (True, instructor)


def test_sending_the_same_client_id_twice_stores_and_broadcasts_one_message(channel):
    ana, ben = UserFactory(), UserFactory()
    frame = {"type": "message.send", "client_id": str(uuid.uuid4()), "body": "once"}

    async def scenario():
        a = await joined(ana, channel)
        b = await joined(ben, channel)
        await a.receive_json_from(timeout=3)  # presence: 2
        await a.send_json_to(frame)
        first = await a.receive_json_from(timeout=3)
        await b.receive_json_from(timeout=3)
        await a.send_json_to(frame)  # the retry of a client that missed the answer
        again = await a.receive_json_from(timeout=3)
        quiet = await b.receive_nothing(timeout=0.3)
        await a.disconnect()
        await b.disconnect()
        return first, again, quiet

    first, again, quiet = run(scenario)
    assert again == first
    assert quiet
    assert ChatMessage.objects.count() == 1


def test_a_fast_sender_is_told_to_slow_down(channel):
    learner = UserFactory()
    for n in range(RATE_LIMIT_MESSAGES):
        post(channel, learner, f"message {n}")
    client_id = str(uuid.uuid4())

    async def scenario():
        ws = await joined(learner, channel, "")
        await ws.send_json_to({"type": "message.send", "client_id": client_id, "body": "more"})
        frame = await ws.receive_json_from(timeout=3)
        await ws.disconnect()
        return frame

    assert run(scenario) == {
        "type": "error",
        "code": "CHAT_RATE_LIMITED",
        "message": "You are sending messages too fast: wait a few seconds.",
        "client_id": client_id,
    }
    assert ChatMessage.objects.count() == RATE_LIMIT_MESSAGES


def test_bad_frames_are_answered_with_errors_and_the_socket_stays_open(channel):
    learner = UserFactory()

    async def scenario():
        ws = await joined(learner, channel)
        await ws.send_to(text_data="not json")
        parse = await ws.receive_json_from(timeout=3)
        await ws.send_json_to({"type": "shout"})
        unknown = await ws.receive_json_from(timeout=3)
        await ws.send_json_to({"type": "message.send", "client_id": "x", "body": "hi"})
        bad_id = await ws.receive_json_from(timeout=3)
        await ws.send_json_to({"type": "message.send", "body": "   "})
        empty = await ws.receive_json_from(timeout=3)
        await ws.send_json_to({"type": "ping"})
        pong = await ws.receive_json_from(timeout=3)
        await ws.disconnect()
        return parse, unknown, bad_id, empty, pong

    parse, unknown, bad_id, empty, pong = run(scenario)
    assert (parse["code"], unknown["code"]) == ("PARSE_ERROR", "BAD_REQUEST")
    assert (bad_id["code"], bad_id["fields"], bad_id["client_id"]) == (
        "VALIDATION_ERROR",
        {"client_id": ["Send a UUID."]},
        "x",
    )
    assert (empty["code"], empty["fields"]) == (
        "VALIDATION_ERROR",
        {"body": ["Write a message first."]},
    )
    assert pong == {"type": "pong"}
    assert ChatMessage.objects.count() == 0


def _paid_course_channel():
    tier = TierFactory()
    course = CourseFactory(visibility=Course.Visibility.PAID, required_tier=tier)
    return ChatChannel.objects.create(course=course, title="Members"), tier


@pytest.mark.parametrize(
    ("who", "code"),
    [("anonymous", 4401), ("not entitled", 4403), ("unknown channel", 4404), ("draft", 4404)],
)
def test_a_socket_outside_the_access_policy_is_closed_with_a_code(who, code):
    channel, _tier = _paid_course_channel()
    user = AnonymousUser() if who == "anonymous" else UserFactory()
    channel_id = uuid.uuid4() if who == "unknown channel" else channel.pk
    if who == "draft":
        channel = ChatChannel.objects.create(course=CourseFactory(draft=True), title="Soon")
        channel_id = channel.pk

    async def scenario():
        ws = socket(user, channel_id, "?after=0")
        connected, _ = await ws.connect()
        assert connected  # accepted, so that the close can carry a code
        return await close_code(ws)

    assert run(scenario) == code


def test_losing_the_tier_closes_the_open_socket_with_4403():
    channel, tier = _paid_course_channel()
    learner = UserFactory()
    grant = tier_grant_create(
        user=learner,
        tier=tier,
        source=TierGrant.Source.STAFF,
        starts_at=timezone.now() - timedelta(days=2),
    )
    other = UserFactory()
    tier_grant_create(user=other, tier=tier, source=TierGrant.Source.STAFF)

    async def scenario():
        ws = await joined(learner, channel)
        bystander = await joined(other, channel)
        await ws.receive_json_from(timeout=3)  # presence: 2
        await expire_grant(grant.pk, learner.pk)
        code = await close_code(ws)
        # The other member's socket re-checked nothing and stays: it hears that one left.
        left = await bystander.receive_json_from(timeout=3)
        await bystander.disconnect()
        return code, left

    assert run(scenario) == (4403, {"type": "presence", "online": 1})


async def expire_grant(grant_id, user_id):
    """The grant runs out (test data), and billing says so, as its services do on commit."""
    from channels.db import database_sync_to_async

    def expire():
        TierGrant.objects.filter(pk=grant_id).update(expires_at=timezone.now() - timedelta(1))
        entitlements_changed.send(sender=User, user_id=user_id)

    await database_sync_to_async(expire)()


def test_a_school_wide_channel_is_open_to_every_signed_in_user():
    channel = ChatChannel.objects.create(title="Lounge")
    learner = UserFactory()

    async def scenario():
        ws = await joined(learner, channel)
        await ws.disconnect()

    run(scenario)
