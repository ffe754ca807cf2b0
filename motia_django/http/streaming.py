"""``input.response``: stream a response chunk by chunk.

The handler calls ``await response.status(...)``, ``await response.headers(...)``,
then writes with ``response.stream.write(chunk)`` or
``await response.writer.send_message_async(chunk)`` and ends with
``response.close()``.  Chunks reach the client as they are written (under ASGI).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["HttpStreamResponse"]

_CLOSE = object()


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

    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._chunks: asyncio.Queue[Any] | None = None
        #: resolves True on the first write or close, False when the handler finished first
        self._first: asyncio.Future[bool] = self._loop.create_future()
        self.closed = False
        self.status_code = 200
        self.header_values: dict[str, str] = {}
        self._writer = _Writer(self)

    async def status(self, status_code: int) -> None:
        self.status_code = int(status_code)

    async def headers(self, headers: dict[str, str]) -> None:
        self.header_values.update({str(k): str(v) for k, v in headers.items()})

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

        def deliver() -> None:
            if self._chunks is None:
                self._chunks = asyncio.Queue()
            self._chunks.put_nowait(item)
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
        return self._chunks is not None

    async def started_before(self, handler: asyncio.Future[Any]) -> bool:
        """Wait for the handler to finish or to start streaming; True if it streams."""

        def finished(_: asyncio.Future[Any]) -> None:
            if not self._first.done():
                self._first.set_result(False)

        handler.add_done_callback(finished)
        return await self._first

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
        while self._chunks is not None and not self._chunks.empty():
            item = self._chunks.get_nowait()
            if item is not _CLOSE:
                out += item.encode() if isinstance(item, str) else item
        return bytes(out)
