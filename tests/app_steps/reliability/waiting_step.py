"""One execution at a time: a burst of messages waits for the single slot."""

import time

from motia import http, queue, step


def publish(req, ctx):
    for n in range(int(req.body["count"])):
        ctx.enqueue({"topic": "t.one-at-a-time", "data": {"n": n}})
    return {"status": 202, "body": {}}


def one_at_a_time(data, ctx):
    ctx.state.set("one-at-a-time", str(data["n"]), {"start": time.time()})


publisher = step({"name": "one-at-a-time-publisher", "triggers": [http("POST", "/one-at-a-time")],
                  "enqueues": ["t.one-at-a-time"]}, publish)
consumer = step({"name": "one-at-a-time", "triggers": [queue("t.one-at-a-time", config={"concurrency": 1})]},
                one_at_a_time)
