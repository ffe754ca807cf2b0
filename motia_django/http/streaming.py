"""``input.response``: stream a response chunk by chunk.

The handler calls ``await response.status(...)``, ``await response.headers(...)``,
then writes with ``response.stream.write(chunk)`` or
``await response.writer.send_message_async(chunk)`` and ends with
``response.close()``.  ``status`` and ``headers`` work with or without ``await``.

A sync chain, or any chain under WSGI, has its chunks buffered and sent when
the handler returns.  An async chain under ASGI streams them as they are
written, through a queue of at most ``MOTIA["HTTP_STREAM_BUFFER"]`` chunks, so
that a handler cannot run ahead of a slow client without bound:

* on the event loop, ``await response.writer.send_message_async(chunk)`` and
  ``await response.stream.write(chunk)`` wait while the queue is full; a
  ``write`` that is not awaited queues its chunk at once and does not wait;
* a sync writer (a sync handler behind async middleware, in a thread of its
  own) blocks its thread while the queue is full; the event loop goes on;
* when the client disconnects, the handler is cancelled unless it has already
  closed the stream, and every later write raises :class:`ClientDisconnected`,
  which is how a sync writer (a thread cannot be cancelled) learns to stop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections import deque
from collections.abc import AsyncIterator, Generator
from typing import Any

__all__ = ["ClientDisconnected", "HttpStreamResponse"]

_CLOSE = object()


class ClientDisconnected(ConnectionError):
    """Raised by a write to a streamed response whose client has gone away."""


class _Done:
    """What ``status()``, ``headers()`` and buffered writes return: already done, and awaitable."""

    def __await__(self) -> Any:
        return iter(())


_DONE = _Done()


class _Room:
    """What a write on the event loop returns: awaiting it waits while the queue is full."""

    __slots__ = ("_owner",)

    def __init__(self, owner: HttpStreamResponse) -> None:
        self._owner = owner

    def __await__(self) -> Generator[Any, None, None]:
        return self._owner._room_for_more().__await__()


class _Writer:
    def __init__(self, owner: HttpStreamResponse) -> None:
        self._owner = owner

    def write(self, chunk: str | bytes) -> _Done | _Room:
        return self._owner._put(chunk)

    async def send_message_async(self, chunk: str | bytes) -> None:
        await self._owner._put(chunk)

    def send_message(self, chunk: str | bytes) -> _Done | _Room:
        return self._owner._put(chunk)

    def close(self) -> None:
        self._owner.close()


class _Body:
    """The body Django streams: its chunks, and a ``close()`` Django calls once done with the response.

    Django calls ``close()`` from a thread however the response ended, so a
    response abandoned before it was read to the end still stops its handler.
    """

    def __init__(self, owner: HttpStreamResponse, handler: asyncio.Future[Any]) -> None:
        self._owner = owner
        self._handler = handler

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._owner._chunks(self._handler)

    def close(self) -> None:
        assert self._owner._loop is not None
        self._owner._loop.call_soon_threadsafe(self._owner.abandon, self._handler)


class HttpStreamResponse:
    """Handed to HTTP handlers as ``input.response``; unused unless they write to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, buffer: int = 16) -> None:
        """``loop``: the loop serving the response as chunks arrive (``None`` buffers them);
        ``buffer``: how many chunks may wait for the client before writers must."""
        self._loop = loop
        self._limit = max(1, buffer)
        self._buffer: list[str | bytes] = []
        self._queue: deque[Any] = deque()
        self._readable = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        #: resolves True on the first write or close, False when the handler finished first
        self._first: asyncio.Future[bool] | None = None if loop is None else loop.create_future()
        self._sent = 0
        self._ended = False
        #: set once the client went away before the response ended
        self.disconnected: ClientDisconnected | None = None
        self.started = False
        self.closed = False
        self.status_code = 200
        self.header_values: dict[str, str] = {}
        self._writer = _Writer(self)

    def status(self, status_code: int) -> _Done:
        self.status_code = int(status_code)
        return _DONE

    def headers(self, headers: dict[str, str]) -> _Done:
        self.header_values.update({str(k): str(v) for k, v in headers.items()})
        return _DONE

    @property
    def stream(self) -> _Writer:
        return self._writer

    @property
    def writer(self) -> _Writer:
        return self._writer

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._put(_CLOSE)

    # -- writing ----------------------------------------------------------------------------------

    def _put(self, item: Any) -> _Done | _Room:
        if item is not _CLOSE and self.closed:
            raise RuntimeError("the response stream is closed")
        self.started = True
        if self._loop is None:
            if item is not _CLOSE:
                self._buffer.append(item)
            return _DONE
        try:
            on_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            on_loop = False
        if on_loop:
            self._push(item)
            return _Room(self)
        if item is _CLOSE:
            self._loop.call_soon_threadsafe(self._push, item)
            return _DONE
        self._raise_if_disconnected()
        sent = asyncio.run_coroutine_threadsafe(self._push_when_room(item), self._loop)
        try:
            sent.result()
        except concurrent.futures.CancelledError:  # the loop is shutting down
            raise ClientDisconnected("the server stopped serving the response") from None
        return _DONE

    def _push(self, item: Any) -> None:
        """Queue ``item`` (on the loop), however full the queue is."""
        if item is not _CLOSE:
            self._raise_if_disconnected()
        self._queue.append(item)
        self._readable.set()
        if len(self._queue) >= self._limit:
            self._room.clear()
        assert self._first is not None
        if not self._first.done():
            self._first.set_result(True)

    async def _push_when_room(self, item: Any) -> None:
        self._push(item)
        await self._room_for_more()

    async def _room_for_more(self) -> None:
        await self._room.wait()
        self._raise_if_disconnected()

    def _raise_if_disconnected(self) -> None:
        if self.disconnected is not None:
            raise ClientDisconnected(str(self.disconnected))

    # -- serving ----------------------------------------------------------------------------------

    async def started_before(self, handler: asyncio.Future[Any]) -> bool:
        """Wait for the handler to finish or to start streaming; True if it streams."""
        assert self._first is not None

        def finished(_: asyncio.Future[Any]) -> None:
            if not first.done():
                first.set_result(False)

        first = self._first
        handler.add_done_callback(finished)
        return await first

    def body(self, handler: asyncio.Future[Any]) -> _Body:
        """The streamed body of the response ``handler`` writes."""
        return _Body(self, handler)

    async def _chunks(self, handler: asyncio.Future[Any]) -> AsyncIterator[bytes]:
        """Yield chunks until the handler closes the stream or finishes; if iteration stops first, abandon."""
        handler.add_done_callback(lambda _: self._readable.set())
        try:
            while True:
                while not self._queue and not handler.done():
                    self._readable.clear()
                    await self._readable.wait()
                if not self._queue:
                    break
                item = self._queue.popleft()
                if len(self._queue) < self._limit:
                    self._room.set()
                if item is _CLOSE:
                    break
                self._sent += 1
                yield item.encode() if isinstance(item, str) else item
            self._ended = True
        finally:
            self.abandon(handler)

    def abandon(self, handler: asyncio.Future[Any]) -> None:
        """The client went away before the response ended: cancel the handler, fail its writes."""
        if self._ended or self.disconnected is not None:
            return
        self.disconnected = ClientDisconnected(f"the client disconnected after {self._sent} chunks")
        self._queue.clear()
        self._room.set()  # wakes the writers waiting for room, to raise
        if not self.closed:
            handler.cancel()

    def drain(self) -> bytes:
        """Everything written (for buffered responses)."""
        return b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in self._buffer)
