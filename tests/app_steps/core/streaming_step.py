"""Streamed responses that write for a long time, and report how far they got and how they ended.

``GET /core/stream/{async,sync}?id=...&size=...&pause=...&limit=...`` waits
``delay`` seconds, then writes up to ``limit`` chunks of ``size`` bytes,
``pause`` seconds apart, for at most ``seconds``.  After every write the handler stores ``{"written": n}`` in
``<VAR_DIR>/core-stream/<id>.json``, and when it stops, ``"ended"``: ``"cancelled"``
(an async handler cancelled), the name of the exception a write raised, or
``"done"``.  The sync handler sits behind an async middleware, so it streams
from a thread of its own.
"""

import asyncio
import json
import os
import time
from pathlib import Path

from django.conf import settings

from motia import http, step


class Progress:
    def __init__(self, req):
        params = req.query_params
        self.path = Path(settings.VAR_DIR) / "core-stream" / f"{params['id']}.json"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.size = int(params.get("size", "100"))
        self.delay = float(params.get("delay", "0"))
        self.pause = float(params.get("pause", "0"))
        self.limit = int(params.get("limit", "100000"))
        self.deadline = time.monotonic() + float(params.get("seconds", "20"))
        self.written = 0
        self.save()

    def chunk(self):
        return b"x" * self.size

    def more(self):
        return self.written < self.limit and time.monotonic() < self.deadline

    def wrote(self):
        self.written += 1
        self.save()

    def save(self, ended=None):
        partial = self.path.with_suffix(".part")
        partial.write_text(json.dumps({"written": self.written, "ended": ended, "pid": os.getpid()}))
        partial.replace(self.path)


async def write_async(input, ctx):
    progress = Progress(input.request)
    response = input.response
    await response.headers({"Content-Type": "application/octet-stream"})
    try:
        await asyncio.sleep(progress.delay)
        while progress.more():
            await response.writer.send_message_async(progress.chunk())
            progress.wrote()
            if progress.pause:
                await asyncio.sleep(progress.pause)
    except asyncio.CancelledError:
        progress.save("cancelled")
        raise
    except Exception as exc:
        progress.save(type(exc).__name__)
        raise
    progress.save("done")
    response.close()


def write_sync(input, ctx):
    progress = Progress(input.request)
    response = input.response
    response.headers({"Content-Type": "application/octet-stream"})
    try:
        time.sleep(progress.delay)
        while progress.more():
            response.stream.write(progress.chunk())
            progress.wrote()
            if progress.pause:
                time.sleep(progress.pause)
    except Exception as exc:
        progress.save(type(exc).__name__)
        raise
    progress.save("done")
    response.close()


async def passthrough(req, ctx, next_handler):
    return await next_handler(req, ctx)


async_writer = step({"name": "core-stream-async", "triggers": [http("GET", "/core/stream/async")]}, write_async)
sync_writer = step({"name": "core-stream-sync",
                    "triggers": [http("GET", "/core/stream/sync", middleware=[passthrough])]}, write_sync)
