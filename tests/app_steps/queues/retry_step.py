"""Fails a configurable number of times before succeeding; optionally always; optionally too slow."""

import asyncio

from motia import http, queue, step


async def publish(req, ctx):
    await ctx.enqueue({"topic": req.body["topic"], "data": req.body["data"]})
    return {"status": 202, "body": {}}


async def flaky(data, ctx):
    attempt = await ctx.state.update("flaky", data["id"], [{"type": "increment", "path": "calls", "value": 1}])
    if data.get("sleep"):
        await asyncio.sleep(data["sleep"])
    if 0 < attempt.new_value["calls"] <= data.get("fail_times", 0):
        raise RuntimeError(f"planned failure {attempt.new_value['calls']}")


publisher = step({"name": "retry-publisher", "triggers": [http("POST", "/retry")],
                  "enqueues": ["t.fixed", "t.exponential", "t.slow", "t.validated", "t.delayed"]}, publish)
fixed = step({"name": "retry-fixed", "triggers": [queue("t.fixed", config={"max_retries": 2, "backoff_type": "fixed",
                                                                           "backoff_delay_ms": 400})]}, flaky)
exponential = step(
    {"name": "retry-exponential",
     "triggers": [queue("t.exponential")],
     "infrastructure": {"queue": {"maxRetries": 3, "backoffType": "exponential", "backoffDelayMs": 200}}},
    flaky,
)
slow = step({"name": "retry-slow", "triggers": [queue("t.slow")],
             "infrastructure": {"handler": {"timeout": 1}, "queue": {"max_retries": 1, "backoff_delay_ms": 100}}},
            flaky)
validated = step(
    {"name": "retry-validated",
     "triggers": [queue("t.validated", input={"type": "object", "required": ["id", "amount"],
                                               "properties": {"amount": {"type": "number"}}})]},
    flaky,
)
delayed = step({"name": "retry-delayed", "triggers": [queue("t.delayed", config={"delay_seconds": 1.5})]}, flaky)
