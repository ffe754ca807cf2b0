"""``multi_trigger_step`` calls its handlers as ``fn(input, ctx)``."""

from motia import ApiResponse, http, multi_trigger_step, queue, stateManager


def on_http(request, ctx):
    ctx.enqueue({"topic": "m103.multi", "data": {"key": request.query_params.get("key", "k")}})
    return ApiResponse(status=202, body={"trace": ctx.trace_id})


def on_queue(input, ctx):
    stateManager.set("m103-multi", input["key"], {"topic": ctx.trigger.topic, "trace": ctx.trace_id})


multi = (
    multi_trigger_step({"name": "m103-multi", "flows": ["m103"], "enqueues": ["m103.multi"],
                        "triggers": [http("POST", "/m103/multi"), queue("m103.multi")]})
    .on_http(on_http)
    .on_queue(on_queue)
    .handlers()
)
