"""The stream WebSocket: Motia's join/leave protocol over a Channels consumer.

Client frames: ``{"type": "join"|"leave", "data": {"streamName", "groupId", "id"?,
"subscriptionId"}}``.  Server frames: ``{"type": "stream", "timestamp", "streamName",
"groupId", "id"?, "event"}`` with a ``sync`` event right after a join, then the
changes and custom events of the subscribed group or item; ``{"type": "error"}``
for a frame the server cannot use (the connection stays open).

Changes and syncs carry item versions (``StreamItem.version``).  A connection
remembers the version of each item it last sent and drops a change that is not
newer: a frame that comes late (from another process, or one a sync already
covered) never undoes a newer one.  ``timestamp``, which Motia clients order
frames by, is the connection's own: above the one before, and, for a sync, at
least the database clock in microseconds, so that it also outranks what a
client got before it reconnected.  Every ``STREAM_RESYNC_INTERVAL`` seconds the
connection compares its versions with the database and syncs the subscriptions
that missed a change (its frame was lost: the writer died right after commit,
or the layer was down).

Outgoing frames wait in a bounded per-connection buffer drained by their own
task, so a client that reads slowly never holds up the channel layer or other
clients; when its buffer overflows it is disconnected (1013) and, like any
reconnecting Motia client, resyncs from the ``sync`` of its next join.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.core.exceptions import ImproperlyConfigured
from django.db import router

from ..conf import motia_settings
from ..store import database_clock
from . import realtime
from .auth import AUTH_SUBPROTOCOL, StreamSubscription, authenticate, can_join, offered_auth_subprotocol
from .stream import declared_streams

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from ..models import StreamItem

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


@dataclass(frozen=True)
class Scope:
    """What a subscription covers: a group of a stream, or one item of it."""

    stream: str
    group: str
    item: str | None

    def header(self) -> dict[str, Any]:
        header: dict[str, Any] = {"streamName": self.stream, "groupId": self.group}
        if self.item is not None:
            header["id"] = self.item
        return header

    def rows(self) -> QuerySet[StreamItem]:
        from ..models import StreamItem

        rows = StreamItem.objects.filter(stream=self.stream, group=self.group)
        return rows if self.item is None else rows.filter(key=self.item)


def _versions(scope: Scope) -> dict[str, int]:
    """The versions of the scope's items now: the cheap half of a resync."""
    return dict(scope.rows().values_list("key", "version"))


def _snapshot(scope: Scope, limit: int) -> tuple[int, list[tuple[str, Any, int]]]:
    """The database clock, then the scope's items with their values and versions (``limit`` + 1 at most,
    so that a group too large to sync is found without reading all of it)."""
    from ..models import StreamItem

    clock = database_clock(router.db_for_read(StreamItem))
    return clock, list(scope.rows().order_by("key").values_list("key", "value", "version")[:limit + 1])


@dataclass
class _Sent:
    """The versions of one stream group's items as a connection last sent them, deletes included."""

    present: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def newer(self, item: str, version: int) -> bool:
        return version > self.present.get(item, self.deleted.get(item, -1))

    def record(self, item: str, version: int | None, deleted: bool) -> None:
        """A change sent, or an item's sync (``version`` ``None``: the item does not exist)."""
        if version is None or deleted:
            self.present.pop(item, None)
            if version is not None:
                self.deleted[item] = version
        else:
            self.present[item] = version
            self.deleted.pop(item, None)

    def matches(self, scope: Scope, versions: dict[str, int]) -> bool:
        """Whether the database holds what was sent (the versions of a group or of its one item)."""
        if scope.item is None:
            return self.present == versions
        return self.present.get(scope.item) == versions.get(scope.item)


class StreamConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """One client connection and its subscriptions."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.joined: dict[str, str] = {}  # subscription id -> room
        self.rooms: dict[str, set[str]] = {}  # room -> subscription ids
        self.scopes: dict[str, Scope] = {}  # room -> what it covers
        self.sent: dict[tuple[str, str], _Sent] = {}  # (stream, group) -> versions sent
        self.stamp = 0  # the timestamp of the last frame sent
        # held by joins, leaves and resyncs: no change is sent while a sync reads the database
        self.reading = asyncio.Lock()
        self.outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=max(1, motia_settings().STREAM_CLIENT_BUFFER))
        self.writer: asyncio.Task[None] | None = None
        self.closing: asyncio.Task[None] | None = None
        self.resyncing: asyncio.Task[None] | None = None
        self.too_slow = False
        self.auth_context: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # also when the channel layer fails under the consumer
            for task in (self.writer, self.closing, self.resyncing):
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
        interval = motia_settings().STREAM_RESYNC_INTERVAL
        if interval > 0:
            self.resyncing = asyncio.create_task(self._resync_every(interval))

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
        self.scopes.clear()
        self.sent.clear()

    # -- client frames ---------------------------------------------------------------------
    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            kind, subscription = _parse(text_data)
            async with self.reading:
                if kind == "join":
                    await self._join(subscription)
                else:
                    await self._leave(subscription.subscription_id)
        except BadFrame as exc:
            self._error(exc)

    def _error(self, exc: BadFrame) -> None:
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
        scope = Scope(sub.stream_name, sub.group_id, sub.id)
        if not await can_join(config, sub, self.auth_context):
            self._send({**scope.header(), "event": {"type": "unauthorized"}})
            return
        name = realtime.room(sub.stream_name, sub.group_id, sub.id)
        if name not in self.rooms:
            # subscribe before reading, so a change committed meanwhile is not missed
            await self.channel_layer.group_add(name, self.channel_name)
            self.rooms[name] = set()
            self.scopes[name] = scope
        self.rooms[name].add(sub.subscription_id)
        self.joined[sub.subscription_id] = name
        try:
            await self._send_state(scope)
        except BadFrame:
            await self._leave(sub.subscription_id)
            raise

    async def _leave(self, subscription_id: str) -> None:
        name = self.joined.pop(subscription_id, None)
        if name is None:
            return
        members = self.rooms[name]
        members.discard(subscription_id)
        if not members:
            del self.rooms[name]
            scope = self.scopes.pop(name)
            if not any((s.stream, s.group) == (scope.stream, scope.group) for s in self.scopes.values()):
                self.sent.pop((scope.stream, scope.group), None)
            await self.channel_layer.group_discard(name, self.channel_name)

    async def _send_state(self, scope: Scope) -> None:
        """Send the scope's state as the database has it now, and remember its versions (hold ``reading``).

        A group over ``STREAM_SYNC_MAX_ITEMS`` raises ``group_too_large`` instead: one join
        must not make the server read and send an unbounded group.
        """
        limit = motia_settings().STREAM_SYNC_MAX_ITEMS
        clock, rows = await database_sync_to_async(_snapshot)(scope, limit)
        if len(rows) > limit:
            raise BadFrame("group_too_large",
                           f"group {scope.group!r} of stream {scope.stream!r} has more than {limit} items to sync; "
                           "subscribe to single items (with 'id'), or read the group over HTTP")
        sent = self.sent.setdefault((scope.stream, scope.group), _Sent())
        body = scope.header()
        if scope.item is None:
            sent.present = {key: version for key, _, version in rows}
            sent.deleted.clear()
            body.update(versions=sent.present.copy(),
                        event={"type": "sync", "data": [realtime.with_id(value, key) for key, value, _ in rows]})
        else:
            version = rows[0][2] if rows else None
            sent.record(scope.item, version, deleted=False)
            body.update(version=version,
                        event={"type": "sync", "data": realtime.with_id(rows[0][1], scope.item) if rows else None})
        self._send(body, at=clock)

    async def _resync_every(self, interval: float) -> None:
        """Sync the subscriptions that missed a change, about every ``interval`` seconds.

        Spread out, so that connections opened together do not all read at once.
        """
        while True:
            await asyncio.sleep(interval * random.uniform(0.5, 1.5))
            try:
                await self._resync()
            except Exception:  # the database being away must not end the checks
                logger.warning("could not compare stream subscriptions with the database", exc_info=True)

    async def _resync(self) -> None:
        async with self.reading:
            behind = []
            for scope in list(self.scopes.values()):
                sent = self.sent.get((scope.stream, scope.group), _Sent())
                if not sent.matches(scope, await database_sync_to_async(_versions)(scope)):
                    behind.append(scope)
            for scope in behind:
                try:
                    await self._send_state(scope)
                except BadFrame as exc:  # the group grew past the sync limit: its subscriptions end
                    name = realtime.room(scope.stream, scope.group, scope.item)
                    for subscription_id in list(self.rooms.get(name, ())):
                        await self._leave(subscription_id)
                    self._error(exc)

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
        if next((name for name in message["rooms"] if name in self.rooms), None) != message["room"]:
            return
        async with self.reading:
            version = message.get("version")
            if version is not None:
                stream, group, item = message["item"]
                sent = self.sent.setdefault((stream, group), _Sent())
                if not sent.newer(item, version):
                    return  # this socket already has the item at this version or a later one
                sent.record(item, version, message["deleted"])
            self._queue(realtime.stamped(message["body"], self._next_stamp(version or 0)))

    # -- sending ---------------------------------------------------------------------------
    def _next_stamp(self, at: int) -> int:
        """A timestamp above the last one sent (the Motia client ignores a frame that is not), and at least ``at``."""
        self.stamp = max(at, self.stamp + 1)
        return self.stamp

    def _send(self, body: dict[str, Any], at: int = 0) -> None:
        self._queue(realtime.stamped(realtime.tail(body), self._next_stamp(at)))

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
