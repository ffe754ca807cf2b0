"""At most two executions at once, whatever the number of workers."""

import asyncio
import time

from motia import http, queue, step


async def publish(req, ctx):
    for n in range(int(req.body["count"])):
        await ctx.enqueue({"topic": "t.limited", "data": {"n": n}})
    return {"status": 202, "body": {}}


async def limited(data, ctx):
    start = time.time()
    await asyncio.sleep(0.2)
    await ctx.state.set("limited", str(data["n"]), {"start": start, "end": time.time()})


publisher = step({"name": "limited-publisher", "triggers": [http("POST", "/limited")], "enqueues": ["t.limited"]},
                 publish)
consumer = step({"name": "limited-consumer", "triggers": [queue("t.limited", config={"concurrency": 2})]}, limited)
