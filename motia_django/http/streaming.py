"""``input.response``: stream a response chunk by chunk.

The handler calls ``await response.status(...)``, ``await response.headers(...)``,
then writes with ``response.stream.write(chunk)`` or
``await response.writer.send_message_async(chunk)`` and ends with
``response.close()``.  Chunks reach the client as they are written when an async
handler is served under ASGI; a sync handler (or any handler under WSGI) has
its chunks buffered and sent when it returns.  ``status`` and ``headers`` work
with or without ``await``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["HttpStreamResponse"]

_CLOSE = object()


class _Done:
    """What ``status()`` and ``headers()`` return: already done, and awaitable for async handlers."""

    def __await__(self) -> Any:
        return iter(())


_DONE = _Done()


class _Writer:
    def __init__(self, owner: HttpStreamResponse) -> None:
        self._owner = owner

    def write(self, chunk: str | bytes) -> None:
        self._owner._put(chunk)

    async def send_message_async(self, chunk: str | bytes) -> None:
        self._owner._put(chunk)

    def send_message(self, chunk: str | bytes) -> None:
        self._owner._put(chunk)

    def close(self) -> None:
        self._owner.close()


class HttpStreamResponse:
    """Handed to HTTP handlers as ``input.response``; unused unless they write to it."""

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """``loop``: the loop serving the response as chunks arrive; ``None`` buffers them."""
        self._loop = loop
        self._chunks: asyncio.Queue[Any] | None = None
        self._buffer: list[str | bytes] | None = None
        #: resolves True on the first write or close, False when the handler finished first
        self._first: asyncio.Future[bool] | None = None if loop is None else loop.create_future()
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

    def _put(self, item: Any) -> None:
        if item is not _CLOSE and self.closed:
            raise RuntimeError("the response stream is closed")
        if self._loop is None:
            if self._buffer is None:
                self._buffer = []
            if item is not _CLOSE:
                self._buffer.append(item)
            return

        def deliver() -> None:
            if self._chunks is None:
                self._chunks = asyncio.Queue()
            self._chunks.put_nowait(item)
            assert self._first is not None
            if not self._first.done():
                self._first.set_result(True)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            deliver()
        else:
            self._loop.call_soon_threadsafe(deliver)

    @property
    def started(self) -> bool:
        return self._chunks is not None or self._buffer is not None

    async def started_before(self, handler: asyncio.Future[Any]) -> bool:
        """Wait for the handler to finish or to start streaming; True if it streams."""
        assert self._first is not None

        def finished(_: asyncio.Future[Any]) -> None:
            if not first.done():
                first.set_result(False)

        first = self._first
        handler.add_done_callback(finished)
        return await first

    async def chunks(self, handler: asyncio.Future[Any]) -> AsyncIterator[bytes]:
        """Yield chunks until the handler closes the stream or finishes."""
        assert self._chunks is not None
        while True:
            getter = asyncio.ensure_future(self._chunks.get())
            await asyncio.wait({getter, handler}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():
                getter.cancel()
                while not self._chunks.empty():
                    item = self._chunks.get_nowait()
                    if item is _CLOSE:
                        return
                    yield item.encode() if isinstance(item, str) else item
                return
            item = getter.result()
            if item is _CLOSE:
                return
            yield item.encode() if isinstance(item, str) else item

    def drain(self) -> bytes:
        """Everything written so far (for WSGI, where responses are buffered)."""
        out = bytearray()
        for chunk in self._buffer or ():
            out += chunk.encode() if isinstance(chunk, str) else chunk
        while self._chunks is not None and not self._chunks.empty():
            item = self._chunks.get_nowait()
            if item is not _CLOSE:
                out += item.encode() if isinstance(item, str) else item
        return bytes(out)
