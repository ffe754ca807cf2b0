"""Jobs that Celery tooling watches: they fail on request, or run long enough to be seen running."""

import asyncio
import time

from motia import http, queue, step

JOB = {
    "type": "object",
    "required": ["topic", "id"],
    "additionalProperties": False,
    "properties": {
        "topic": {"enum": ["sig.jobs", "sig.async-jobs"]},
        "id": {"type": "string", "maxLength": 64},
        "fail": {"type": "boolean"},
        "sleep": {"type": "number", "minimum": 0, "maximum": 10},
    },
}
RETRIES = {"max_retries": 1, "backoff_type": "fixed", "backoff_delay_ms": 200}


def publish(req, ctx):
    body = dict(req.body)
    ctx.enqueue({"topic": body.pop("topic"), "data": body})
    return {"status": 202, "body": {"traceId": ctx.trace_id}}


def run_job(data, ctx):
    time.sleep(data.get("sleep", 0))
    if data.get("fail"):
        raise RuntimeError(f"planned failure of {data['id']}")


async def run_job_async(data, ctx):
    await asyncio.sleep(data.get("sleep", 0))
    if data.get("fail"):
        raise RuntimeError(f"planned failure of {data['id']}")


publisher = step({"name": "sig-publisher", "triggers": [http("POST", "/sig/jobs", body_schema=JOB)],
                  "enqueues": ["sig.jobs", "sig.async-jobs"]}, publish)
jobs = step({"name": "SigJob", "triggers": [queue("sig.jobs", config=RETRIES)]}, run_job)
async_jobs = step({"name": "SigAsyncJob", "triggers": [queue("sig.async-jobs", config=RETRIES)]}, run_job_async)
