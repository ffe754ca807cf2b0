"""Two subscribers of one topic, plus a third that only some messages reach."""

import os

from motia import http, queue, step


async def publish(req, ctx):
    for n in range(int(req.body.get("count", 1))):
        await ctx.enqueue({"topic": "t.fanout", "data": {"n": n, "tag": req.body.get("tag", "")}})
    return {"status": 202, "body": {"queued": req.body.get("count", 1)}}


async def record(data, ctx):
    await ctx.state.set(f"fanout-{ctx.step_name}", f"{data['tag']}-{data['n']}",
                        {"worker": os.environ.get("MOTIA_WORKER_NAME", ""), "trace": ctx.trace_id,
                         "topic": ctx.trigger.topic})


publisher = step({"name": "fanout-publisher", "triggers": [http("POST", "/fanout")], "enqueues": ["t.fanout"]},
                 publish)
first = step({"name": "fanout-a", "triggers": [queue("t.fanout")]}, record)
second = step({"name": "fanout-b", "triggers": [queue("t.fanout", condition=lambda d, c: d["n"] % 2 == 0)]},
              record)
