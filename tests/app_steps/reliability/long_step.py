"""Handlers that run longer than the broker's default visibility timeout (``MOTIA_TEST_LONG_*`` scale them)."""

import os
import time

from motia import http, queue, step

TIMEOUT = float(os.environ.get("MOTIA_TEST_LONG_TIMEOUT", "12"))


def publish(req, ctx):
    for n in range(int(req.body["count"])):
        ctx.enqueue({"topic": "t.long", "data": {"n": n, "seconds": float(req.body["seconds"])}})
    return {"status": 202, "body": {}}


def run_long(data, ctx):
    start = time.time()
    time.sleep(data["seconds"])
    ctx.state.update("long-runs", str(data["n"]), [{"type": "increment", "path": "runs", "value": 1}])
    ctx.state.set("long-spans", f"{data['n']}-{start}", {"start": start, "end": time.time()})


publisher = step({"name": "long-publisher", "triggers": [http("POST", "/long")], "enqueues": ["t.long"]}, publish)
consumer = step({"name": "long-consumer", "triggers": [queue("t.long", config={"max_retries": 1})],
                 "infrastructure": {"handler": {"timeout": TIMEOUT}}}, run_long)
