"""Report where a sync and an async handler run, and hold a sync request on purpose."""

import asyncio
import os
import threading
import time

from motia import ApiResponse, http, step


def _where():
    try:
        loop = id(asyncio.get_running_loop())
    except RuntimeError:
        loop = None
    return {"thread": threading.current_thread().name, "loop": loop, "pid": os.getpid()}


def sync_handler(req, ctx):
    if req.query_params.get("sleep"):
        time.sleep(float(req.query_params["sleep"]))
    return ApiResponse(200, _where())


async def async_handler(req, ctx):
    if req.query_params.get("sleep"):
        await asyncio.sleep(float(req.query_params["sleep"]))
    return ApiResponse(200, _where())


sync_kind = step({"name": "core-sync-kind", "triggers": [http("GET", "/core/kind/sync")]}, sync_handler)
async_kind = step({"name": "core-async-kind", "triggers": [http("GET", "/core/kind/async")]}, async_handler)
