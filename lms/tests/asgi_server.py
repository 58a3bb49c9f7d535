"""A real ASGI server for tests: `lms.asgi.application` under uvicorn on a loopback port, with
the Redis channel layer, and a small WebSocket client (the `websockets` package).

Use it like pytest-django's `live_server`, for anything that must cross a real socket: HTTP
and WebSocket handshakes, cookies and subprotocols, the channel layer between processes.

    pytestmark = [pytest.mark.redis]

    def test_two_learners_see_each_other(asgi_server, learner, other, channel):
        with asgi_server.connect(f"/ws/chat/{channel.pk}/", user=learner) as ana, \\
             asgi_server.connect(f"/ws/chat/{channel.pk}/", user=other) as ben:
            ana.receive_until("presence")
            ana.send_json({"type": "message.send", "client_id": str(uuid4()), "body": "hi"})
            assert ben.receive_until("message")["message"]["body"] == "hi"

What you get
    `asgi_server` (function scope) is an `AsgiServer`: `.url`, `.ws_url(path)`,
    `.get(path) -> (status, headers, body)`, `.connect(path, ...) -> SocketClient` and
    `.refusal(path, ...) -> HTTP status` of a handshake the server turned down, and
    `with asgi_server.mounted(app):` to serve a test's own ASGI routes on the same server.

    `connect` signs the socket in as a browser (`user=` -> a fresh session cookie, sent with
    the site's `Origin`) or as an app (`token=` an allauth access token, as `Authorization:
    Bearer`, or with `token_as="subprotocol"` as the subprotocols `bearer, <token>`);
    `app_access_token(email)` signs a factory user in through allauth headless to get one.
    With neither, the socket is anonymous. `origin=None` leaves `Origin` out (a native app),
    `origin="https://evil.example"` sends another site's.

    A `SocketClient` has `send_json`, `receive_json(timeout)`, `receive_until(type)` (frames
    before it are kept in `.skipped`), `assert_nothing(within)`, `close()`,
    `wait_closed(timeout) -> close code` (for a server that accepts, then closes with 4403);
    every receive is bounded by a timeout (default 5 s), so a missing frame fails the test
    instead of hanging it. Clients left open are closed when the test ends.

How it runs
    uvicorn serves in a thread of the test process, started once per session on a socket
    bound to port 0 (no port race); the fixture is function-scoped over it. Being in-process,
    the server shares the test's settings (the `settings` fixture applies to it) and coverage
    sees the consumers' code. Its database work runs in other threads, on their own
    connections, so the data a test creates must be committed: the fixture takes
    `transactional_db` (as Channels' own live-server tests do), which works on PostgreSQL and
    SQLite alike. The channel layer must be Redis (REDIS_URL, or CHANNEL_LAYER_URL): the
    in-memory layer cannot be shared between the server's event loop and the test's. Mark such
    tests `redis`; without Redis they skip, or fail under LMS_REQUIRE_SERVICES=1 (conftest.py).

    Pushes from the test's side (a service called in the test, `lms.realtime.group_send`) go
    through the same Redis, on a layer instance other than the server's, as they would from
    gunicorn or a Celery worker (`_ServerOwnLayers` says why).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.client import HTTPConnection
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

HOST = "127.0.0.1"
TIMEOUT = 5.0
FACTORY_PASSWORD = "correct-horse-battery"


class SocketClient:
    """One WebSocket to the test server, speaking JSON text frames."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection
        self.skipped: list[dict[str, Any]] = []

    @property
    def subprotocol(self) -> str | None:
        return self.connection.subprotocol

    def send_json(self, data: dict[str, Any]) -> None:
        self.connection.send(json.dumps(data))

    def receive_json(self, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The next frame; fails the test after `timeout` seconds or if the server closed."""
        try:
            raw = self.connection.recv(timeout=timeout)
        except TimeoutError:
            pytest.fail(f"no WebSocket frame within {timeout} s", pytrace=False)
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd else None
            pytest.fail(f"the server closed the socket (code {code})", pytrace=False)
        return json.loads(raw)

    def receive_until(self, kind: str, timeout: float = TIMEOUT) -> dict[str, Any]:
        """The first frame of type `kind` within `timeout`; the frames before it (in order)
        are appended to `.skipped`."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                pytest.fail(f"no {kind!r} frame within {timeout} s; got {self.skipped}")
            frame = self.receive_json(timeout=remaining)
            if frame.get("type") == kind:
                return frame
            self.skipped.append(frame)

    def assert_nothing(self, within: float = 0.5) -> None:
        """No frame arrives within `within` seconds (for what must not be pushed)."""
        try:
            raw = self.connection.recv(timeout=within)
        except (TimeoutError, ConnectionClosed):
            return
        pytest.fail(f"unexpected WebSocket frame: {raw}", pytrace=False)

    def wait_closed(self, timeout: float = TIMEOUT) -> int | None:
        """Read (and drop) frames until the server closes; its close code."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.connection.recv(timeout=deadline - time.monotonic())
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None
        pytest.fail(f"the server did not close the socket within {timeout} s", pytrace=False)

    def close(self) -> None:
        self.connection.close()

    def __enter__(self) -> SocketClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def session_cookie(user: Any) -> str:
    """A `Cookie` header value signing a browser in as `user` (a new session)."""
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def app_access_token(email: str, password: str = FACTORY_PASSWORD) -> str:
    """An allauth headless access token for a user with a verified email (`UserFactory(
    verified_email=True)`), by signing in as an app does."""
    response = Client().post(
        "/_allauth/app/v1/auth/login",
        {"email": email, "password": password},
        content_type="application/json",
        HTTP_USER_AGENT="LMS tests/1.0",
    )
    assert response.status_code == 200, response.content
    return response.json()["meta"]["access_token"]


@dataclass
class AsgiServer:
    """The running server (see the module docstring)."""

    port: int
    thread: _ServerThread | None = None
    clients: list[SocketClient] = field(default_factory=list)

    @contextmanager
    def mounted(self, application: Any) -> Iterator[AsgiServer]:
        """Serve another application (a test's own routes) instead of the site's, for a
        block; the same server, event loop and channel layer."""
        assert self.thread is not None
        previous, self.thread.application = self.thread.application, application
        try:
            yield self
        finally:
            self.close_clients()
            self.thread.wait_idle()
            self.thread.application = previous

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def ws_url(self, path: str) -> str:
        return f"ws://{HOST}:{self.port}{path}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict, bytes]:
        connection = HTTPConnection(HOST, self.port, timeout=TIMEOUT)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def _handshake(
        self,
        path: str,
        *,
        user: Any = None,
        token: str | None = None,
        token_as: str = "header",  # noqa: S107 - where the token goes, not a password
        origin: str | bool | None = True,
        timeout: float = TIMEOUT,
    ) -> ClientConnection:
        headers: dict[str, str] = {}
        subprotocols = None
        if user is not None:
            headers["Cookie"] = session_cookie(user)
        if token is not None and token_as == "subprotocol":
            subprotocols = ["bearer", token]
        elif token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return ws_connect(
            self.ws_url(path),
            origin=self.url if origin is True else origin or None,
            additional_headers=headers,
            subprotocols=subprotocols,
            open_timeout=timeout,
            close_timeout=2,
            max_size=2**22,
            legacy=True,  # closed by SocketClient (or at the test's end), not a with block
        )

    def connect(self, path: str, **options: Any) -> SocketClient:
        """An open socket (options: user=, token=, token_as=, origin=, timeout=); fails the
        test if the handshake is refused."""
        try:
            client = SocketClient(self._handshake(path, **options))
        except InvalidStatus as refused:
            pytest.fail(
                f"WebSocket handshake to {path} refused: HTTP {refused.response.status_code}",
                pytrace=False,
            )
        self.clients.append(client)
        return client

    def refusal(self, path: str, **options: Any) -> int:
        """The HTTP status of a handshake the server refuses (fails the test if it opens)."""
        try:
            connection = self._handshake(path, **options)
        except InvalidStatus as refused:
            return refused.response.status_code
        connection.close()
        pytest.fail(f"the WebSocket handshake to {path} was accepted", pytrace=False)

    def close_clients(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()


class _ServerThread:
    """uvicorn running an ASGI application (default: `lms.asgi.application`) in a thread."""

    def __init__(self) -> None:
        import uvicorn

        from lms.asgi import application

        self.application = application
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind((HOST, 0))
        self.port = self.socket.getsockname()[1]
        config = uvicorn.Config(
            self._dispatch,
            interface="asgi3",
            lifespan="off",
            # As in production (README): uvicorn's "websockets-sansio" protocol never tells a
            # consumer that closed the socket itself that it is gone, leaving its task behind.
            ws="websockets",
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self.server = uvicorn.Server(config)
        self.on_thread_start: Any = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        if self.on_thread_start:
            self.on_thread_start()
        self.server.run(sockets=[self.socket])

    async def _dispatch(self, scope, receive, send):
        return await self.application(scope, receive, send)

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test ASGI server did not start")
            time.sleep(0.02)

    def wait_idle(self, seconds: float = 5.0) -> None:
        """Until the server holds no connection (their consumers have had their disconnect)."""
        deadline = time.monotonic() + seconds
        while self.server.server_state.connections and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


class _ServerOwnLayers:
    """Channels' layer manager, with a layer instance of its own for the server's thread. In
    production the ASGI server and the code that pushes (gunicorn, workers) are separate
    processes with a layer each; here they share one process, and channels-redis lets only
    one event loop receive on an instance at a time, so the server's loop must not share its
    instance with the test's in-process `WebsocketCommunicator` tests (both on one Redis)."""

    server_threads: set[int] = set()
    _server_backends: dict = {}

    @property
    def backends(self) -> dict:
        if threading.get_ident() in self.server_threads:
            return self._server_backends
        return self.__dict__.setdefault("_shared_backends", {})

    @backends.setter
    def backends(self, value: dict) -> None:
        if threading.get_ident() in self.server_threads:
            type(self)._server_backends = value
        else:
            self.__dict__["_shared_backends"] = value


def _server_own_layers() -> type[_ServerOwnLayers]:
    from channels import layers

    manager = layers.channel_layers
    if not isinstance(manager, _ServerOwnLayers):
        shared = manager.__dict__.pop("backends", {})
        manager.__class__ = type("ServerOwnLayerManager", (_ServerOwnLayers, type(manager)), {})
        manager.__dict__["_shared_backends"] = shared
    return type(manager)


@pytest.fixture(scope="session")
def _asgi_server_thread() -> Iterator[_ServerThread]:
    manager = _server_own_layers()
    server = _ServerThread()
    server.on_thread_start = lambda: manager.server_threads.add(threading.get_ident())
    server.start()
    yield server
    server.stop()


def _layer_is_redis() -> bool:
    backend = settings.CHANNEL_LAYERS.get("default", {}).get("BACKEND", "")
    return backend.startswith("channels_redis.")


@pytest.fixture
def asgi_server(transactional_db, _asgi_server_thread: _ServerThread) -> Iterator[AsgiServer]:
    """The real ASGI server, for one test (module docstring)."""
    if not _layer_is_redis():
        pytest.fail(
            "asgi_server needs the Redis channel layer: set REDIS_URL and mark the test `redis`",
            pytrace=False,
        )
    server = AsgiServer(port=_asgi_server_thread.port, thread=_asgi_server_thread)
    yield server
    server.close_clients()
    # The consumers' disconnect handlers finish before the database is flushed.
    _asgi_server_thread.wait_idle()
