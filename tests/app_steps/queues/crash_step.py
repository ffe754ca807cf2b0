"""A slow-ish handler used to kill workers mid-flight; the request's ``pause`` sets how long each message takes."""

import asyncio
import os

from motia import http, queue, step


async def publish(req, ctx):
    pause = float(req.body.get("pause", 0.02))
    for n in range(int(req.body["count"])):
        await ctx.enqueue({"topic": "t.crash", "data": {"n": n, "poison": n == req.body.get("poison"),
                                                          "pause": pause}})
    return {"status": 202, "body": {}}


async def work(data, ctx):
    if data["poison"]:
        await ctx.state.update("crash-poison", str(data["n"]), [{"type": "increment", "path": "runs", "value": 1}])
        os.kill(os.getpid(), 9)
    await asyncio.sleep(data.get("pause", 0.02))
    await ctx.state.update("crash-done", str(data["n"]), [{"type": "increment", "path": "runs", "value": 1}])


publisher = step({"name": "crash-publisher", "triggers": [http("POST", "/crash")], "enqueues": ["t.crash"]}, publish)
worker = step({"name": "crash-worker", "triggers": [queue("t.crash")],
               "infrastructure": {"queue": {"max_retries": 2, "visibility_timeout": 4, "backoff_delay_ms": 50}}},
              work)
