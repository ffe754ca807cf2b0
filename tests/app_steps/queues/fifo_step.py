"""A FIFO subscription that records when each message started and ended."""

import asyncio
import os
import time

from motia import http, queue, step


async def publish(req, ctx):
    for group in range(int(req.body["groups"])):
        for seq in range(int(req.body["per_group"])):
            await ctx.enqueue({"topic": "t.fifo", "data": {"group": group, "seq": seq},
                               "messageGroupId": f"g{group}"})
    return {"status": 202, "body": {}}


async def handle(data, ctx):
    start = time.time()
    await asyncio.sleep(0.005)
    await ctx.state.set("fifo-log", f"{data['group']}-{data['seq']:04d}",
                        {"group": data["group"], "seq": data["seq"], "start": start, "end": time.time(),
                         "pid": os.getpid()})


publisher = step({"name": "fifo-publisher", "triggers": [http("POST", "/fifo")], "enqueues": ["t.fifo"]}, publish)
consumer = step({"name": "fifo-consumer", "triggers": [queue("t.fifo")],
                 "infrastructure": {"queue": {"type": "fifo", "max_retries": 2}}}, handle)
