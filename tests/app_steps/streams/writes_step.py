"""Stream writes over HTTP (made by the web server) and through a queue (made by a Celery worker)."""

import os
import time

from motia import ApiResponse, http, queue, step
from motia_django.schemas import SchemaViolation
from motia_django.streams.stream import UnknownStream


def _write(ctx, job):
    stream = ctx.streams[job["stream"]]
    group, item = job["group"], job.get("id")
    if job["op"] == "set":
        return stream.set(group, item, job["data"])
    if job["op"] == "update":
        return stream.update(group, item, job["ops"])
    if job["op"] == "delete":
        return stream.delete(group, item)
    if job["op"] == "bulk":
        for n in range(job["count"]):
            stream.set(group, f"{n:05d}", {"title": "x" * job.get("size", 10)})
            time.sleep(job.get("pause", 0))
        return None
    target = {"groupId": group, **({"id": item} if item else {})}
    return stream.send(target, {"type": job["type"], "data": job.get("data")})


def write_now(req, ctx):
    try:
        _write(ctx, req.body)
    except UnknownStream as exc:
        return ApiResponse(status=404, body={"error": str(exc)})
    except SchemaViolation as exc:
        return ApiResponse(status=400, body={"error": str(exc)})
    return ApiResponse(status=200, body={"done": req.body["op"]})


async def write_later(req, ctx):
    await ctx.enqueue({"topic": "t.stream-write", "data": req.body})
    return ApiResponse(status=202, body={"queued": req.body["op"]})


def write_in_worker(job, ctx):
    if job["op"] == "set":
        job = {**job, "data": {**job["data"], "writer": os.environ.get("MOTIA_WORKER_NAME", "")}}
    _write(ctx, job)


now = step({"name": "stream-write-now", "triggers": [http("POST", "/stream-writes")]}, write_now)
later = step({"name": "stream-write-later", "triggers": [http("POST", "/stream-jobs")], "enqueues": ["t.stream-write"]},
             write_later)
worker = step({"name": "stream-write-worker", "triggers": [queue("t.stream-write")]}, write_in_worker)
