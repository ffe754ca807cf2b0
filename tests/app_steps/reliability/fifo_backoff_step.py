"""A FIFO subscription whose first attempt fails and retries after a backoff longer than the send horizon."""

import time

from motia import queue, step


def handle(data, ctx):
    calls = ctx.state.update("fifo-backoff", data["id"], [{"type": "increment", "path": "calls", "value": 1}])
    ctx.state.set("fifo-backoff-times", f"{data['id']}-{calls.new_value['calls']}", time.time())
    if calls.new_value["calls"] == 1:
        raise RuntimeError("first attempt fails")


consumer = step({"name": "fifo-backoff", "triggers": [queue("t.fifo-backoff", config={
    "type": "fifo", "max_retries": 2, "backoff_type": "fixed", "backoff_delay_ms": 6000})]}, handle)
