"""Stream changes and custom events, on their way to WebSocket subscribers.

Whatever process commits a change (web server or Celery worker) turns it into a
frame of Motia's stream protocol and hands it to the Channels layer: one channel
group per ``(stream, group)`` and one per ``(stream, group, item)``.  Consumers
(:mod:`.consumer`) joined to those groups forward the frame to their socket.
With the in-memory layer only the server's own writes can reach its sockets;
channels-redis carries worker writes across processes.

Frames leave through one event loop per process, in commit order, without the
writer waiting on the layer: the ASGI server's loop once a socket is served here
(the in-memory layer only works there), a background loop otherwise (workers).

A change carries its item's version (``StreamItem.version``, advanced under the
row lock), not a clock reading: frames of one item sent by several processes
reach a consumer in any order, and the consumer keeps only those newer than what
its socket already has.  The ``timestamp`` Motia clients compare is added by the
consumer, per socket (:func:`stamped`).
"""

from __future__ import annotations

import asyncio
import atexit
import hashlib
import json
import logging
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from celery.signals import worker_process_shutdown

from ..signals import stream_changed

__all__ = [
    "MESSAGE_TYPE",
    "Frame",
    "attach_server_loop",
    "change_frame",
    "event_frame",
    "flush",
    "layer_message",
    "publish",
    "room",
    "stamped",
    "tail",
    "with_id",
]

logger = logging.getLogger("motia.streams")

#: Channel-layer message type of a frame; consumers handle it in ``motia_stream_frame``.
MESSAGE_TYPE = "motia.stream.frame"
_ROOM_PREFIX = "motia-stream."


def room(stream: str, group_id: str, item_id: str | None = None) -> str:
    """The channel group of a group or item subscription.

    Hashed, because stream, group and item names may hold any character and group
    names may only hold letters, digits, ``-``, ``.`` and ``_`` (under 100 characters).
    """
    key = json.dumps([stream, group_id, item_id], separators=(",", ":"))
    return _ROOM_PREFIX + hashlib.blake2b(key.encode(), digest_size=16).hexdigest()


def with_id(data: Any, item_id: str) -> Any:
    """The item as clients see it: objects carry their ``id`` (the Motia client matches items by it)."""
    if isinstance(data, dict) and "id" not in data:
        return {**data, "id": item_id}
    return data


@dataclass(frozen=True)
class Frame:
    """A frame before a socket stamps it: the channel groups it goes to and what it says.

    A change also names its item and version, for consumers to drop what is older than
    what their socket has.
    """

    rooms: tuple[str, ...]
    body: dict[str, Any]
    item: tuple[str, str, str] | None = None
    version: int | None = None
    deleted: bool = False


def _header(stream: str, group_id: str, item_id: str | None) -> dict[str, Any]:
    header: dict[str, Any] = {"streamName": stream, "groupId": group_id}
    if item_id is not None:
        header["id"] = item_id
    return header


def _rooms(stream: str, group_id: str, item_id: str | None) -> tuple[str, ...]:
    # an item's events also reach the subscribers of its group
    if item_id is None:
        return (room(stream, group_id),)
    return room(stream, group_id), room(stream, group_id, item_id)


def change_frame(stream: str, group_id: str, item_id: str, event: Mapping[str, Any], version: int) -> Frame:
    """A committed ``create``/``update``/``delete`` of one item, at the item's ``version``."""
    body = {**_header(stream, group_id, item_id), "version": version,
            "event": {"type": event["type"], "data": with_id(event.get("data"), item_id)}}
    return Frame(_rooms(stream, group_id, item_id), body, (stream, group_id, item_id), version,
                 deleted=event["type"] == "delete")


def event_frame(stream: str, target: Mapping[str, Any], event: Mapping[str, Any]) -> Frame:
    """A custom event for ``Stream.send``; checked here so a bad call fails in the caller."""
    if not isinstance(target, Mapping):
        raise TypeError("send() needs a target like {'groupId': ...} or {'groupId': ..., 'id': ...}")
    group_id = target.get("groupId", target.get("group_id"))
    item_id = target.get("id")
    if not isinstance(group_id, str) or not group_id:
        raise ValueError(f"send() needs a non-empty 'groupId' in its target, got {group_id!r}")
    if item_id is not None and (not isinstance(item_id, str) or not item_id):
        raise ValueError(f"send() target 'id' must be a non-empty string, got {item_id!r}")
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str) or not event["type"]:
        raise ValueError("send() needs an event like {'type': 'typing', 'data': ...}")
    custom = {"type": event["type"], "data": event.get("data")}
    try:
        json.dumps(custom, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"send() event is not JSON-serialisable: {exc}") from None
    body = {**_header(stream, group_id, item_id), "event": {"type": "event", "event": custom}}
    return Frame(_rooms(stream, group_id, item_id), body)


def tail(body: Mapping[str, Any]) -> str:
    """A frame's text after its stamp, encoded once however many sockets it goes to."""
    return json.dumps(body, separators=(",", ":"))[1:]


def stamped(body_tail: str, timestamp: int) -> str:
    """The text of a stream frame: its socket's ``timestamp`` ahead of the encoded body."""
    return f'{{"type":"stream","timestamp":{timestamp},{body_tail}'


def layer_message(frame: Frame) -> dict[str, Any]:
    """What the channel layer carries to consumers (their ``room`` is added per channel group)."""
    message: dict[str, Any] = {"type": MESSAGE_TYPE, "rooms": frame.rooms, "body": tail(frame.body)}
    if frame.item is not None:
        message.update(item=frame.item, version=frame.version, deleted=frame.deleted)
    return message


class _Publisher:
    """Sends frames to the channel layer from one event loop, one after another."""

    def __init__(self, loop: asyncio.AbstractEventLoop, owns_loop: bool) -> None:
        self.loop = loop
        self.owns_loop = owns_loop
        self.pid = os.getpid()
        self._queue: asyncio.Queue[tuple[Any, dict[str, Any]] | None] = asyncio.Queue()
        self._pending = 0
        self._idle = threading.Condition()
        asyncio.run_coroutine_threadsafe(self._drain(), loop)

    @classmethod
    def in_background(cls) -> _Publisher:
        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="motia-stream-publisher", daemon=True).start()
        return cls(loop, owns_loop=True)

    @property
    def usable(self) -> bool:
        return self.pid == os.getpid() and not self.loop.is_closed()

    def submit(self, layer: Any, message: dict[str, Any]) -> None:
        with self._idle:
            self._pending += 1
        self.loop.call_soon_threadsafe(self._queue.put_nowait, (layer, message))

    def retire(self) -> None:
        """Finish what is queued, then stop (a newer publisher took over)."""
        self.loop.call_soon_threadsafe(self._queue.put_nowait, None)

    def flush(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    async def _drain(self) -> None:
        while (entry := await self._queue.get()) is not None:
            layer, message = entry
            for name in message["rooms"]:
                try:
                    await layer.group_send(name, {**message, "room": name})
                except Exception as exc:  # the layer being down must not stop later frames
                    logger.warning("could not send a stream frame to channel group %s: %r", name, exc)
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()
        if self.owns_loop:
            self.loop.stop()


_publisher: _Publisher | None = None
_publisher_lock = threading.Lock()


def _layer() -> Any:
    try:
        from channels.layers import get_channel_layer
    except ImportError:  # real-time is an optional extra
        return None
    return get_channel_layer()


def _is_in_memory(layer: Any) -> bool:
    from channels.layers import InMemoryChannelLayer

    return isinstance(layer, InMemoryChannelLayer)


def attach_server_loop() -> None:
    """Publish from the running loop: called by consumers, so it is the ASGI server's loop."""
    global _publisher
    loop = asyncio.get_running_loop()
    with _publisher_lock:
        if _publisher is not None and _publisher.loop is loop and _publisher.usable:
            return
        previous, _publisher = _publisher, _Publisher(loop, owns_loop=False)
    if previous is not None and previous.owns_loop and previous.usable:
        previous.retire()


def _current(layer: Any) -> _Publisher | None:
    global _publisher
    with _publisher_lock:
        if _publisher is not None and _publisher.usable:
            return _publisher
        if _is_in_memory(layer):
            return None  # no socket is served by this process, so nobody could receive it
        _publisher = _Publisher.in_background()
        return _publisher


def publish(frame: Frame) -> None:
    """Queue the frame for its channel groups; returns without waiting."""
    layer = _layer()
    if layer is None:
        return
    publisher = _current(layer)
    if publisher is not None:
        publisher.submit(layer, layer_message(frame))


def flush(timeout: float = 5.0) -> bool:
    """Wait until every queued frame reached the layer (at exit, and for tests and benchmarks)."""
    publisher = _publisher
    if publisher is None or not publisher.usable:
        return True
    return publisher.flush(timeout)


def forward_change(sender: Any, stream: str, group_id: str, item_id: str, event: Mapping[str, Any], version: int,
                   **kwargs: Any) -> None:
    """Forward a committed change; never raise, the write it describes has already committed."""
    try:
        publish(change_frame(stream, group_id, item_id, event, version))
    except Exception:
        logger.exception("could not forward a change of stream %r to its subscribers", stream)


def flush_worker(**kwargs: Any) -> None:
    """Pool processes leave through ``os._exit``, skipping ``atexit``: send what is queued first."""
    flush(2.0)


def connect() -> None:
    stream_changed.connect(forward_change, dispatch_uid="motia-stream-realtime")
    worker_process_shutdown.connect(flush_worker, dispatch_uid="motia-stream-flush")


atexit.register(flush, 2.0)
