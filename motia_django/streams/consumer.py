"""The stream WebSocket: Motia's join/leave protocol over a Channels consumer.

Client frames: ``{"type": "join"|"leave", "data": {"streamName", "groupId", "id"?,
"subscriptionId"}}``.  Server frames: ``{"type": "stream", "timestamp", "streamName",
"groupId", "id"?, "event"}`` with a ``sync`` event right after a join, then the
changes and custom events of the subscribed group or item; ``{"type": "error"}``
for a frame the server cannot use (the connection stays open).

Outgoing frames wait in a bounded per-connection buffer drained by their own
task, so a client that reads slowly never holds up the channel layer or other
clients; when its buffer overflows it is disconnected (1013) and, like any
reconnecting Motia client, resyncs from the ``sync`` of its next join.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ImproperlyConfigured

from ..conf import motia_settings
from ..store import JsonStore
from . import realtime
from .auth import AUTH_SUBPROTOCOL, StreamSubscription, authenticate, can_join, offered_auth_subprotocol
from .stream import declared_streams

__all__ = ["StreamConsumer"]

logger = logging.getLogger("motia.streams")

#: Close code for a client too slow to keep up ("try again later": reconnect and resync).
TOO_SLOW = 1013


class BadFrame(ValueError):
    """A client frame the protocol does not allow; answered with an error frame."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _required(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise BadFrame("bad_frame", f"'data.{key}' must be a non-empty string")
    return value


def _parse(text_data: str | None) -> tuple[str, StreamSubscription]:
    if text_data is None:
        raise BadFrame("bad_frame", "frames must be JSON text, not binary")
    try:
        message = json.loads(text_data)
    except ValueError:
        raise BadFrame("bad_frame", "frame is not valid JSON") from None
    if not isinstance(message, dict) or message.get("type") not in ("join", "leave"):
        raise BadFrame("bad_frame", "expected {'type': 'join'|'leave', 'data': {...}}")
    data = message.get("data")
    if not isinstance(data, dict):
        raise BadFrame("bad_frame", "'data' must be an object")
    subscription = StreamSubscription(
        stream_name=_required(data, "streamName"),
        group_id=_required(data, "groupId"),
        id=None if data.get("id") is None else _required(data, "id"),
        subscription_id=_required(data, "subscriptionId"),
    )
    return message["type"], subscription


def _snapshot(stream: str, group_id: str, item_id: str | None) -> Any:
    from ..models import StreamItem

    store = JsonStore(StreamItem, stream=stream)
    if item_id is not None:
        return realtime.with_id(store.get(group_id, item_id), item_id)
    return [realtime.with_id(value, key) for key, value in store.items(group_id)]


class StreamConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One client connection and its subscriptions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.joined: dict[str, str] = {}  # subscription id -> room
        self.rooms: dict[str, set[str]] = {}  # room -> subscription ids
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=max(1, motia_settings().STREAM_CLIENT_BUFFER))
        self.writer: asyncio.Task[None] | None = None
        self.closing: asyncio.Task[None] | None = None
        self.too_slow = False
        self.auth_context: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # also when the channel layer fails under the consumer
            for task in (self.writer, self.closing):
                if task is not None:
                    task.cancel()

    async def connect(self) -> None:
        if self.channel_layer is None:
            raise ImproperlyConfigured("stream WebSockets need a channel layer: set CHANNEL_LAYERS (docs/streams.md)")
        try:
            self.auth_context = await authenticate(self.scope)
        except Exception as exc:
            logger.info("refused a stream connection: %r", exc)
            await self._refuse()
            return
        realtime.attach_server_loop()
        await self.accept(subprotocol=AUTH_SUBPROTOCOL if offered_auth_subprotocol(self.scope) else None)
        self.writer = asyncio.create_task(self._write())

    async def _refuse(self) -> None:
        if "websocket.http.response" in self.scope.get("extensions", {}):
            body = b'{"error": "unauthorized"}'
            await self.base_send({"type": "websocket.http.response.start", "status": 401,
                                  "headers": [(b"content-type", b"application/json"),
                                              (b"content-length", str(len(body)).encode())]})
            await self.base_send({"type": "websocket.http.response.body", "body": body})
        else:
            await self.close()

    async def disconnect(self, code: int) -> None:
        for name in self.rooms:
            await self.channel_layer.group_discard(name, self.channel_name)
        self.rooms.clear()
        self.joined.clear()

    # -- client frames ---------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            kind, subscription = _parse(text_data)
            if kind == "join":
                await self._join(subscription)
            else:
                await self._leave(subscription.subscription_id)
        except BadFrame as exc:
            error = {"type": "error", "error": {"code": exc.code, "message": str(exc)}}
            self._queue(json.dumps(error, separators=(",", ":")))

    async def _join(self, sub: StreamSubscription) -> None:
        config = declared_streams().get(sub.stream_name)
        if config is None:
            raise BadFrame("unknown_stream", f"stream {sub.stream_name!r} is not declared")
        await self._leave(sub.subscription_id)  # a repeated join replaces the subscription
        limit = motia_settings().STREAM_MAX_SUBSCRIPTIONS
        if len(self.joined) >= limit:
            raise BadFrame("too_many_subscriptions", f"a connection holds at most {limit} subscriptions; leave one")
        header: dict[str, Any] = {"streamName": sub.stream_name, "groupId": sub.group_id}
        if sub.id is not None:
            header["id"] = sub.id
        if not await can_join(config, sub, self.auth_context):
            self._queue(realtime.encode({**header, "event": {"type": "unauthorized"}}, realtime.sync_timestamp()))
            return
        name = realtime.room(sub.stream_name, sub.group_id, sub.id)
        if name not in self.rooms:
            # subscribe before reading, so a change committed meanwhile is not missed
            await self.channel_layer.group_add(name, self.channel_name)
            self.rooms[name] = set()
        self.rooms[name].add(sub.subscription_id)
        self.joined[sub.subscription_id] = name
        timestamp = realtime.sync_timestamp()
        data = await database_sync_to_async(_snapshot)(sub.stream_name, sub.group_id, sub.id)
        self._queue(realtime.encode({**header, "event": {"type": "sync", "data": data}}, timestamp))

    async def _leave(self, subscription_id: str) -> None:
        name = self.joined.pop(subscription_id, None)
        if name is None:
            return
        members = self.rooms[name]
        members.discard(subscription_id)
        if not members:
            del self.rooms[name]
            await self.channel_layer.group_discard(name, self.channel_name)

    # -- layer frames ----------------------------------------------------------------------
    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels closes stale database connections before every message, a hop to the one
        # sync thread each: with a thousand sockets per write that hop is the bottleneck.
        # Frames never touch the database (joins read it through database_sync_to_async,
        # which cleans up on its own), so they skip it.
        if message["type"] == realtime.MESSAGE_TYPE:
            await self.motia_stream_frame(message)
        else:
            await super().dispatch(message)

    async def motia_stream_frame(self, message: dict[str, Any]) -> None:
        # An item's frame comes through its group's room and its own; a socket in both
        # forwards only the first copy, as Motia clients hand a frame with an ``id`` to
        # the item's and the group's listeners alike.  One copy per room, too, however
        # many subscriptions share it.
        if next((name for name in message["rooms"] if name in self.rooms), None) == message["room"]:
            self._queue(message["text"])

    # -- sending ---------------------------------------------------------------------------
    def _queue(self, text: str) -> None:
        if self.too_slow:
            return
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            self.too_slow = True
            logger.warning("disconnecting a stream client that fell %d frames behind", self.outbox.maxsize)
            if self.writer is not None:
                self.writer.cancel()
            # the close frame queues behind unread data; meanwhile frames keep being dropped here
            self.closing = asyncio.create_task(self.close(code=TOO_SLOW))

    async def _write(self) -> None:
        try:
            while True:
                await self.send(text_data=await self.outbox.get())
        except (OSError, RuntimeError) as exc:  # the client went away mid-send
            logger.debug("stream socket closed while sending: %r", exc)
