"""The live chat socket: `/ws/chat/<channel id>/` (JSON text frames).

Sign-in is the socket's (`lms.realtime.SocketAuthMiddleware`): a browser's session cookie,
or an app's JWT access token (`Authorization: Bearer`, or the subprotocols `bearer, <token>`).

Connecting
    The server accepts, then closes at once with 4401 when nobody is signed in, 4404 when
    the channel does not exist (or is a draft course's), 4403 when the access policy keeps the
    user out. Otherwise it joins the channel and, with `?after=<seq>`, first sends every
    visible message after that number, oldest first (at most CATCHUP_LIMIT), then

        {"type": "ready", "channel": "<id>", "last_seq": N, "complete": true}

    (`complete` false: more were missed than a socket catches up; read the rest from the
    REST history with `?after=`), then the online count. Live events follow; none repeats a
    message of the catch-up, and none is missed between the two.

Client -> server
    {"type": "message.send", "client_id": "<uuid>", "body": "Markdown"}
        (sending the same client_id again changes nothing and answers the stored message)
    {"type": "message.edit", "id": "<message id>", "body": "..."}      own messages
    {"type": "message.delete", "id": "<message id>"}     own, or anyone's as a moderator
    {"type": "ping"}        every 30 s: keeps the user counted online; answered {"type": "pong"}

Server -> client
    {"type": "message", "message": {"id", "seq", "channel", "author": {"id", "name"} | null,
                                    "body", "body_html", "created_at", "edited_at",
                                    "client_id"}}
    {"type": "message.edit", "message": {...the same fields...}}
    {"type": "message.delete", "message": {"id", "seq", "channel"}, "reason": "deleted"|"hidden"}
    {"type": "presence", "online": N}       distinct users with the channel open
    {"type": "error", "code": "CHAT_RATE_LIMITED", "message": "...", "client_id": "..."}
        (codes from lms.errors; `client_id` when the failed frame carried one)

`seq` numbers a channel's messages 1, 2, 3... in commit order: a client keeps the highest it
has seen and reconnects with `?after=<it>`; it orders by `seq` and may drop an `id` it has.
Edits and deletes made while a client was away are in the REST history, not replayed.

When the user's access may have changed (billing's `entitlements_changed`: a subscription
cancelled, a tier granted), the socket re-checks it and closes with 4403 if it is gone.
"""

import json
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth.models import AnonymousUser

from accounts.models import User
from community.chat_presence import presence_set
from community.models import ChatChannel, ChatMessage
from community.services.chat import (
    CATCHUP_LIMIT,
    chat_channel_visible,
    chat_member_allowed,
    chat_message_data,
    chat_message_delete,
    chat_message_edit,
    chat_message_get,
    chat_message_post,
    chat_user_group,
)
from lms.errors import CATALOG, ApplicationError, ErrorCode

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404


def _fresh_user(user_id: Any) -> User | None:
    """The user as stored now (a socket lives long: roles, tiers or is_active may change)."""
    return User.objects.filter(pk=user_id, is_active=True).first()


@database_sync_to_async
def _join_check(user_id: Any, channel_id: Any) -> tuple[ChatChannel | None, int]:
    channel = ChatChannel.objects.select_related("course").filter(pk=channel_id).first()
    user = _fresh_user(user_id)
    if user is None:
        return None, CLOSE_UNAUTHENTICATED
    if channel is None or not chat_channel_visible(user=user, channel=channel):
        return None, CLOSE_NOT_FOUND
    if not chat_member_allowed(user=user, channel=channel):
        return None, CLOSE_FORBIDDEN
    return channel, 0


@database_sync_to_async
def _still_allowed(user_id: Any, channel_id: Any) -> bool:
    channel = ChatChannel.objects.select_related("course").filter(pk=channel_id).first()
    user = _fresh_user(user_id)
    return bool(user and channel and chat_member_allowed(user=user, channel=channel))


@database_sync_to_async
def _catch_up(channel_id: Any, after: int | None) -> tuple[list[dict], int, bool]:
    """Messages after `after` (at most CATCHUP_LIMIT), the channel's last seq, completeness."""
    last_seq = ChatChannel.objects.filter(pk=channel_id).values_list("last_seq", flat=True)[0]
    if after is None:
        return [], last_seq, True
    messages = list(
        ChatMessage.objects.filter(
            channel_id=channel_id, seq__gt=after, deleted_at__isnull=True, is_hidden=False
        )
        .select_related("author")
        .order_by("seq")[: CATCHUP_LIMIT + 1]
    )
    complete = len(messages) <= CATCHUP_LIMIT
    return [chat_message_data(m) for m in messages[:CATCHUP_LIMIT]], last_seq, complete


@database_sync_to_async
def _perform(user_id: Any, channel_id: Any, content: dict) -> dict | None:
    """Run one client frame through the services; the message to send back to this socket
    only (a repeated send, which broadcasts nothing), or None."""
    user = _fresh_user(user_id)
    channel = ChatChannel.objects.select_related("course").filter(pk=channel_id).first()
    if user is None or channel is None:
        raise ApplicationError(ErrorCode.NOT_AUTHENTICATED)
    kind = content.get("type")
    if kind == "message.send":
        message = chat_message_post(
            user=user,
            channel=channel,
            body=_text(content.get("body")),
            client_id=_client_id(content.get("client_id")),
        )
        if not getattr(message, "is_new", False):
            return {"type": "message", "message": chat_message_data(message)}
        return None
    message = chat_message_get(channel=channel, message_id=content.get("id"))
    if kind == "message.edit":
        chat_message_edit(user=user, message=message, body=_text(content.get("body")))
    else:
        chat_message_delete(user=user, message=message)
    return None


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _client_id(value: Any) -> uuid.UUID | None:
    if value in (None, ""):
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ApplicationError(
            ErrorCode.VALIDATION_ERROR, fields={"client_id": ["Send a UUID."]}
        ) from None


def _after(scope: dict) -> int | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get("after")
    if not values or not values[0].isascii() or not values[0].isdigit():
        return None
    return min(int(values[0]), 2**62)


class ChatConsumer(AsyncJsonWebsocketConsumer):
    """One socket on one channel (protocol in the module docstring)."""

    async def connect(self) -> None:
        self.joined = False
        self.catchup_upto = 0  # live messages up to this seq were sent by the catch-up
        user = self.scope.get("user") or AnonymousUser()
        await self.accept()
        if not user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.user_id = user.pk
        self.channel_id = self.scope["url_route"]["kwargs"]["channel_id"]
        channel, refusal = await _join_check(self.user_id, self.channel_id)
        if channel is None:
            await self.close(code=refusal)
            return
        self.group = channel.group_name
        # Join before reading the catch-up: a message committed after the read is then
        # certain to arrive live; one in both is dropped by `chat_event` (seq <= catchup_upto).
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.channel_layer.group_add(chat_user_group(self.user_id), self.channel_name)
        self.joined = True
        await self._send_catch_up(_after(self.scope))
        await self._presence(present=True)

    async def _send_catch_up(self, after: int | None) -> None:
        # Group events wait meanwhile: a consumer handles one event at a time.
        messages, last_seq, complete = await _catch_up(self.channel_id, after)
        for message in messages:
            await self.send_json({"type": "message", "message": message})
        if after is not None:
            sent = messages[-1]["seq"] if messages else after
            # Everything committed by the read was in it (unless cut short at the limit).
            self.catchup_upto = max(last_seq, sent) if complete else sent
        frame = {"type": "ready", "channel": str(self.channel_id), "last_seq": last_seq}
        await self.send_json({**frame, "complete": complete})

    async def disconnect(self, code: int) -> None:
        await self._leave()

    async def _refuse(self) -> None:
        """Close with 4403 (access gone) and leave at once: the others see the count drop."""
        await self._leave()
        await self.close(code=CLOSE_FORBIDDEN)

    async def _leave(self) -> None:
        if not getattr(self, "joined", False):
            return
        self.joined = False
        await self.channel_layer.group_discard(self.group, self.channel_name)
        await self.channel_layer.group_discard(chat_user_group(self.user_id), self.channel_name)
        await self._presence(present=False)

    async def _presence(self, *, present: bool) -> None:
        online = await database_sync_to_async(presence_set, thread_sensitive=False)(
            channel_id=self.channel_id,
            user_id=self.user_id,
            socket=self.channel_name,
            present=present,
        )
        if online is not None:
            await self.channel_layer.group_send(
                self.group,
                {"type": "chat.event", "payload": {"type": "presence", "online": online}},
            )

    # --- Frames from the client --------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not self.joined:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "ping":
            await database_sync_to_async(presence_set, thread_sensitive=False)(
                channel_id=self.channel_id,
                user_id=self.user_id,
                socket=self.channel_name,
                present=True,
            )
            await self.send_json({"type": "pong"})
            return
        if kind not in ("message.send", "message.edit", "message.delete"):
            await self._error(ErrorCode.BAD_REQUEST, "Unknown frame type.", content)
            return
        try:
            reply = await _perform(self.user_id, self.channel_id, content)
        except ApplicationError as error:
            if error.status == 403 and error.code != ErrorCode.CHAT_NOT_YOUR_MESSAGE:
                await self._refuse()  # the access policy no longer lets them in
                return
            await self._error(error.code, error.message, content, fields=error.fields)
            return
        if reply is not None:
            await self.send_json(reply)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            content = json.loads(text_data or "")
        except ValueError:
            await self._error(ErrorCode.PARSE_ERROR, CATALOG[ErrorCode.PARSE_ERROR].message, {})
            return
        await self.receive_json(content)

    async def _error(
        self, code: ErrorCode, message: str, content: Any, *, fields: dict | None = None
    ) -> None:
        frame: dict[str, Any] = {"type": "error", "code": str(code), "message": message}
        if fields:
            frame["fields"] = fields
        if isinstance(content, dict) and isinstance(content.get("client_id"), str):
            frame["client_id"] = content["client_id"]
        await self.send_json(frame)

    # --- Events from the channel layer -------------------------------------------------

    async def chat_event(self, event: dict) -> None:
        payload = event["payload"]
        if payload.get("type") == "message" and payload["message"]["seq"] <= self.catchup_upto:
            return  # already sent by the catch-up
        await self.send_json(payload)

    async def access_recheck(self, event: dict) -> None:
        if self.joined and not await _still_allowed(self.user_id, self.channel_id):
            await self._refuse()
