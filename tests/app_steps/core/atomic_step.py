"""A sync handler that writes, then fails on request: under ATOMIC_REQUESTS nothing it wrote stays."""

from django.contrib.auth.models import Group

from motia import ApiResponse, http, queue, step


def handler(req, ctx):
    key = req.body["key"]
    Group.objects.create(name=f"atomic-{key}")
    ctx.state.set("core-atomic", key, {"written": True})
    ctx.enqueue({"topic": "core.atomic", "data": {"key": key}})
    if req.body.get("fail"):
        raise RuntimeError("failing after the writes")
    return ApiResponse(201, {"key": key})


def consume(data, ctx):
    ctx.state.set("core-atomic-consumed", data["key"], True)


atomic = step({"name": "core-atomic", "triggers": [http("POST", "/core/atomic")], "enqueues": ["core.atomic"]},
              handler)
consumer = step({"name": "core-atomic-consumer", "triggers": [queue("core.atomic")]}, consume)
