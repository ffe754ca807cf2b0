"""Steps the health and metrics tests drive (loaded only through ``MOTIA_TEST_EXTRA_STEPS``).

An HTTP step that enqueues, a queue step that succeeds, one that always fails
(one retry, then a dead letter), a FIFO step, and a slow HTTP step that keeps
a sync server worker busy so concurrent requests spread over its processes.
"""

import time

from motia import http, queue, step


def publish(req, ctx):
    for topic, count in req.body.items():
        for n in range(int(count)):
            ctx.enqueue({"topic": topic, "data": {"n": n}, **({"messageGroupId": "g"} if topic == "ops.fifo" else {})})
    return {"status": 202, "body": {}}


def work(data, ctx):
    ctx.logger.info("ops work done")


def fail(data, ctx):
    raise RuntimeError("planned ops failure")


def slow(req, ctx):
    time.sleep(0.3)
    return {"status": 200, "body": {"slept": True}}


publisher = step({"name": "ops-publisher", "triggers": [http("POST", "/ops/publish")],
                  "enqueues": ["ops.work", "ops.fail", "ops.fifo"]}, publish)
worker = step({"name": "ops-work", "triggers": [queue("ops.work")]}, work)
failing = step({"name": "ops-fail", "triggers": [queue("ops.fail", config={"max_retries": 1, "backoff_type": "fixed",
                                                                           "backoff_delay_ms": 100})]}, fail)
ordered = step({"name": "ops-fifo", "triggers": [queue("ops.fifo")], "infrastructure": {"queue": {"type": "fifo"}}},
               work)
sleeper = step({"name": "ops-slow", "triggers": [http("GET", "/ops/slow")]}, slow)
