"""Sync branches given to ctx.match (from an async handler) and to multi_trigger_step use the ORM and state."""

import inspect

from django.contrib.auth.models import Group

from motia import ApiResponse, http, multi_trigger_step, queue, stateManager, step


def _record(ctx, key, via):
    Group.objects.get_or_create(name=f"{via}-{key}"[:150])
    result = ctx.state.set("core-match", key, {"via": via, "groups": Group.objects.filter(name__endswith=key).count()})
    if inspect.isawaitable(result):
        raise AssertionError("ctx.state.set returned an awaitable in a sync branch")
    return result.new_value


async def handler(input, ctx):
    def on_http(req):
        key = req.body["key"]
        stored = _record(ctx, key, "http")
        ctx.enqueue({"topic": "core.match", "data": {"key": key}})
        return ApiResponse(200, {"stored": stored, "read": stateManager.get("core-match", key)})

    def on_queue(data):
        _record(ctx, data["key"] + "-queue", "queue")

    return await ctx.match({"http": on_http, "queue": on_queue})


matching = step({"name": "core-match", "triggers": [http("POST", "/core/match"), queue("core.match")],
                 "enqueues": ["core.match"]}, handler)


def multi_http(req, ctx):
    return ApiResponse(200, {"stored": _record(ctx, req.body["key"], "multi"),
                             "groups": len(stateManager.get_group("core-match"))})


multi = (
    multi_trigger_step({"name": "core-multi", "triggers": [http("POST", "/core/multi")]})
    .on_http(multi_http)
    .handlers()
)
