"""The real ASGI server harness (lms/tests/asgi_server.py) works end to end: HTTP through
Django, WebSockets through the socket middleware and the Redis channel layer, pushes from the
test's own thread (as from gunicorn or a worker) reaching a socket on the server."""

import uuid

import pytest
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.routing import URLRouter
from django.db import transaction
from django.urls import path

from accounts.tests.factories import UserFactory
from lms.realtime import (
    SocketAuthMiddleware,
    group_send,
    group_send_on_commit,
    origin_validated,
)
from lms.tests.asgi_server import app_access_token

pytestmark = pytest.mark.redis


class EchoConsumer(AsyncJsonWebsocketConsumer):
    """Echoes each frame back through the channel layer (its group, on Redis), and relays
    what anyone sends to the group `echo.<room>`."""

    async def connect(self):
        self.group = f"echo.{self.scope['url_route']['kwargs']['room']}"
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        user = self.scope["user"]
        await self.send_json(
            {"type": "hello", "email": user.email if user.is_authenticated else None}
        )

    async def disconnect(self, code):
        await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content):
        await self.channel_layer.group_send(self.group, {"type": "echo", "data": content})

    async def echo(self, event):
        await self.send_json({"type": "echo", "data": event["data"]})


ECHO_APP = origin_validated(
    SocketAuthMiddleware(URLRouter([path("ws/echo/<str:room>/", EchoConsumer.as_asgi())]))
)


def test_http_requests_are_served_by_django_through_the_real_server(asgi_server):
    status, headers, body = asgi_server.get("/healthz")

    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert b'"status"' in body


def test_the_sites_socket_routes_refuse_unknown_paths_and_other_sites(asgi_server):
    assert asgi_server.refusal("/ws/nothing-here/") == 403
    assert asgi_server.refusal("/ws/nothing-here/", origin="https://evil.example") == 403


def test_the_chat_route_is_mounted_and_closes_an_anonymous_socket(asgi_server):
    socket = asgi_server.connect(f"/ws/chat/{uuid.uuid4()}/")

    assert socket.wait_closed() == 4401


def test_a_frame_echoes_through_the_redis_layer_to_every_socket_in_the_group(asgi_server):
    ana = UserFactory(email="ana@example.com", verified_email=True)
    token = app_access_token(ana.email)
    with asgi_server.mounted(ECHO_APP) as server:
        browser = server.connect("/ws/echo/room1/", user=ana)
        app = server.connect("/ws/echo/room1/", token=token, origin=None)
        js = server.connect("/ws/echo/room1/", token=token, token_as="subprotocol")
        assert [s.receive_until("hello")["email"] for s in (browser, app, js)] == [
            "ana@example.com"
        ] * 3
        assert js.subprotocol == "bearer"

        browser.send_json({"n": 1})
        browser.send_json({"n": 2})

        for socket in (browser, app, js):
            assert socket.receive_json() == {"type": "echo", "data": {"n": 1}}
            assert socket.receive_json() == {"type": "echo", "data": {"n": 2}}


def test_a_push_from_the_tests_thread_reaches_the_servers_socket(asgi_server):
    with asgi_server.mounted(ECHO_APP) as server:
        socket = server.connect("/ws/echo/room2/")
        assert socket.receive_until("hello") == {"type": "hello", "email": None}
        other_room = server.connect("/ws/echo/room3/")
        other_room.receive_until("hello")

        assert group_send(group="echo.room2", message={"type": "echo", "data": "from a worker"})

        assert socket.receive_json() == {"type": "echo", "data": "from a worker"}
        other_room.assert_nothing(within=0.3)


def test_a_push_on_commit_waits_for_the_commit_and_a_rolled_back_one_never_arrives(asgi_server):
    with asgi_server.mounted(ECHO_APP) as server:
        socket = server.connect("/ws/echo/room5/")
        socket.receive_until("hello")

        with transaction.atomic():
            group_send_on_commit(group="echo.room5", message={"type": "echo", "data": "kept"})
            socket.assert_nothing(within=0.3)
        assert socket.receive_json() == {"type": "echo", "data": "kept"}

        try:
            with transaction.atomic():
                group_send_on_commit(group="echo.room5", message={"type": "echo", "data": "no"})
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        socket.assert_nothing(within=0.3)


def test_a_push_to_an_unreachable_layer_is_skipped_and_reported_not_raised(settings, caplog):
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [{"address": "redis://127.0.0.1:1/0", "socket_connect_timeout": 0.2}]
            },
        }
    }
    channel_layers.backends.pop("default", None)

    assert group_send(group="echo.room4", message={"type": "echo", "data": 1}) is False
    assert "Channel layer unavailable" in caplog.text
