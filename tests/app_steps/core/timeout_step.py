"""Handlers that overrun their timeout, and fast ones to run after them on the same worker process."""

import os
import time

from asgiref.sync import sync_to_async

from motia import http, queue, step


def publish(req, ctx):
    for message in req.body["messages"]:
        ctx.enqueue(message)
    return {"status": 202, "body": {}}


def sync_work(data, ctx):
    if data.get("sleep"):
        time.sleep(data["sleep"])  # a blocking call: only an interrupt stops it
    ctx.state.set("core-timeout", data["id"], {"pid": os.getpid(), "done": time.time()})


async def async_work(data, ctx):
    if data.get("sleep"):
        await sync_to_async(time.sleep)(data["sleep"])  # holds the loop's helper thread
    await ctx.state.set("core-timeout", data["id"], {"pid": os.getpid(), "done": time.time()})


_infrastructure = {"handler": {"timeout": 1}, "queue": {"max_retries": 0}}
publisher = step({"name": "core-timeout-publisher", "triggers": [http("POST", "/core/timeout")],
                  "enqueues": ["core.timeout.sync", "core.timeout.async"]}, publish)
sync_step = step({"name": "core-timeout-sync", "triggers": [queue("core.timeout.sync")],
                  "infrastructure": _infrastructure}, sync_work)
async_step = step({"name": "core-timeout-async", "triggers": [queue("core.timeout.async")],
                   "infrastructure": _infrastructure}, async_work)
