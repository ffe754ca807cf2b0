"""Messages that keep failing for a while: even ``n`` succeed from their second call, odd ``n`` never do.

The handler counts its calls in state, so while the database is down its calls
fail too, as a real handler's would.
"""

from motia import http, queue, step


def publish(req, ctx):
    for n in range(int(req.body["count"])):
        ctx.enqueue({"topic": req.body.get("topic", "t.outage"), "data": {"n": int(req.body.get("offset", 0)) + n}})
    return {"status": 202, "body": {}}


def flaky(data, ctx):
    calls = ctx.state.update("outage-calls", str(data["n"]), [{"type": "increment", "path": "calls", "value": 1}])
    if data["n"] % 2 or calls.new_value["calls"] < 2:
        raise RuntimeError(f"planned failure of {data['n']}")


RETRIES = {"max_retries": 6, "backoff_type": "fixed", "backoff_delay_ms": 1000}

publisher = step({"name": "outage-publisher", "triggers": [http("POST", "/outage")],
                  "enqueues": ["t.outage", "t.outage-limited"]}, publish)
plain = step({"name": "outage-plain", "triggers": [queue("t.outage", config=RETRIES)]}, flaky)
limited = step({"name": "outage-limited",
                "triggers": [queue("t.outage-limited", config={**RETRIES, "concurrency": 4})]}, flaky)
