"""WebSocket plumbing shared by every app: who is on a socket, and pushing to groups.

Who is on a socket (`SocketAuthMiddleware`, mounted by `lms/asgi.py`):

- **Browsers** are signed in by their Django session cookie, exactly as on a page: a session
  that was signed out, expired or revoked (Sessions page, allauth usersessions) is anonymous.
  The cookie counts only on a handshake that carries an `Origin` header, which browsers always
  send and `SocketOriginValidator` has checked against ALLOWED_HOSTS: another site's page cannot
  ride a visitor's cookie (cross-site WebSocket hijacking).
- **Apps** send their allauth headless JWT access token, validated as the API validates it
  (signature, expiry, and the session it names still alive), in one of two ways:
  `Authorization: Bearer <token>` where the WebSocket library can set headers (native apps), or,
  where it cannot (JavaScript), as the two subprotocols `bearer, <token>`
  (`new WebSocket(url, ["bearer", token])`); the server then accepts with the subprotocol
  `bearer`, which browsers require. A token is never taken from the query string (proxies log
  URLs) and never logged. A token that fails validation leaves the socket anonymous, even with
  a cookie beside it.

Consumers read `scope["user"]` (a User or AnonymousUser) and `scope["auth"]` ("session",
"token" or None) and decide access themselves (catalog.access).

Pushing (`group_send`, `group_send_on_commit`): services and tasks, in any process (gunicorn,
Celery, the ASGI server), send to a Channels group through the configured layer (Redis in
production, so it reaches sockets on every ASGI server). A layer outage never fails the write
that triggered the push: it is logged (at most once a minute) and the clients catch up on
their next reconnect.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module
from typing import Any
from urllib.parse import urlparse

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.middleware import BaseMiddleware
from channels.security.websocket import OriginValidator
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from django.http import HttpRequest, parse_cookie
from redis.exceptions import RedisError

from lms.cache import outage_log

logger = logging.getLogger(__name__)

BEARER_SUBPROTOCOL = "bearer"
# A layer send fails with these while Redis is unreachable or too slow.
LAYER_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


# --- Who is on the socket -------------------------------------------------------------------


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


def _bearer_token(scope: dict[str, Any]) -> tuple[str | None, bool]:
    """The access token, and whether it came as a subprotocol (the accept must name it)."""
    authorization = _header(scope, b"authorization") or ""
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip(), False
    subprotocols = list(scope.get("subprotocols") or [])
    if BEARER_SUBPROTOCOL in subprotocols:
        index = subprotocols.index(BEARER_SUBPROTOCOL)
        if index + 1 < len(subprotocols):
            return subprotocols[index + 1], True
        return "", True  # "bearer" alone: a client that lost its token, anonymous
    return None, False


def _user_from_token(token: str) -> Any:
    """The user the API would see for this access token, or None."""
    from allauth.headless.contrib.rest_framework.authentication import JWTTokenAuthentication
    from rest_framework.exceptions import AuthenticationFailed

    if not token:
        return None
    try:
        user, _payload = JWTTokenAuthentication().authenticate_credentials(token)
    except AuthenticationFailed:
        return None
    return user if user.is_active else None


def _user_from_session(session_key: str) -> Any:
    """The user a page would see for this session cookie, or None (Django's own checks:
    the session exists, its auth hash matches the password, the user is active)."""
    engine = import_module(settings.SESSION_ENGINE)
    request = HttpRequest()
    request.session = engine.SessionStore(session_key)
    user = get_user(request)
    return user if user.is_authenticated else None


@database_sync_to_async
def _authenticate(*, token: str | None, session_key: str | None) -> tuple[Any, str | None]:
    if token is not None:
        user = _user_from_token(token)
        return (user, "token") if user else (AnonymousUser(), None)
    if session_key:
        user = _user_from_session(session_key)
        return (user, "session") if user else (AnonymousUser(), None)
    return AnonymousUser(), None


class SocketAuthMiddleware(BaseMiddleware):
    """Sets `scope["user"]` and `scope["auth"]` on WebSocket connections (module docstring)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        token, as_subprotocol = _bearer_token(scope)
        session_key = None
        if _header(scope, b"origin") is not None:
            cookies = parse_cookie(_header(scope, b"cookie") or "")
            session_key = cookies.get(settings.SESSION_COOKIE_NAME)
        user, method = await _authenticate(token=token, session_key=session_key)
        scope = dict(scope, user=user, auth=method)
        if as_subprotocol:
            send = _accepting_subprotocol(send)
        return await self.inner(scope, receive, send)


def _accepting_subprotocol(send):
    """Name `bearer` in the accept unless the consumer chose a subprotocol itself."""

    async def wrapped(message):
        if message.get("type") == "websocket.accept" and not message.get("subprotocol"):
            message = {**message, "subprotocol": BEARER_SUBPROTOCOL}
        return await send(message)

    return wrapped


async def socket_refused(scope, receive, send):
    """Refuse a WebSocket handshake (HTTP 403). A plain ASGI app rather than Channels'
    `WebsocketDenier`: a consumer would also open a channel-layer receive for nothing, and its
    cancellation can outlive the refused socket."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close"})


class SocketOriginValidator(OriginValidator):
    """Channels' `AllowedHostsOriginValidator`, except that a handshake without `Origin` (a
    native app; browsers always send one) is let through: `SocketAuthMiddleware` then ignores
    its cookies, so such a socket is signed in by a token or not at all."""

    async def __call__(self, scope, receive, send):
        origin = _header(scope, b"origin")
        if origin is None or self.valid_origin(urlparse(origin)):
            return await self.application(scope, receive, send)
        return await socket_refused(scope, receive, send)


def origin_validated(application):
    """`application` behind `SocketOriginValidator` with the site's ALLOWED_HOSTS (as
    Channels' `AllowedHostsOriginValidator` builds it)."""
    allowed_hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not allowed_hosts:
        allowed_hosts = ["localhost", "127.0.0.1", "[::1]"]
    return SocketOriginValidator(application, allowed_hosts)


# --- Pushing to groups ----------------------------------------------------------------------


def _run_sync(function: Any, *args: Any) -> Any:
    """`async_to_sync(function)(*args)`, also from sync code on a thread whose event loop is
    running (Playwright's sync API drives one in a browser test's thread, where a seeding
    command posts chat messages): async_to_sync refuses that thread, so use another."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(function)(*args)
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(async_to_sync(function), *args).result()


def group_send(*, group: str, message: dict[str, Any]) -> bool:
    """Send `message` (a dict with a "type") to every socket in `group`, from sync code.

    Returns whether the layer took it. Never raises for an unreachable layer (module
    docstring): the push is lost, the data it announces is not.
    """
    layer = get_channel_layer()
    if layer is None:
        return False
    try:
        _run_sync(layer.group_send, group, message)
    except LAYER_ERRORS as exc:
        outage_log("Channel layer").failed(
            exc, consequence="live updates are not pushed; clients catch up when they reconnect"
        )
        return False
    outage_log("Channel layer").recovered()
    return True


def group_send_on_commit(*, group: str, message: dict[str, Any]) -> None:
    """`group_send` once the current transaction commits (at once outside one), so no
    socket hears of a row that may still roll back."""
    transaction.on_commit(lambda: group_send(group=group, message=message))
