"""``ctx.invoke``: one step calls another's handler directly, in its own trace, from async and sync code."""

from motia import ApiResponse, http, queue, step


def double(input, ctx):
    if input["n"] < 0:
        raise ValueError("m103-double takes no negative numbers")
    return {"doubled": input["n"] * 2, "trace": ctx.trace_id, "trigger": str(ctx.trigger.type)}


doubler = step({"name": "m103-double", "flows": ["m103"],
                "triggers": [queue("m103.double", input={"type": "object", "required": ["n"],
                                                         "properties": {"n": {"type": "integer"}}})]}, double)


async def invoke_async(request, ctx):
    result = await ctx.invoke("m103-double", {"n": int(request.query_params.get("n", "1"))})
    return ApiResponse(status=200, body={"result": result, "trace": ctx.trace_id})


def invoke_sync(request, ctx):
    result = ctx.invoke("m103-double", {"n": int(request.query_params.get("n", "1"))})
    return ApiResponse(status=200, body={"result": result, "trace": ctx.trace_id})


invoker = step({"name": "m103-invoke", "flows": ["m103"], "virtualEnqueues": ["m103.double"],
                "triggers": [http("GET", "/m103/invoke")]}, invoke_async)
sync_invoker = step({"name": "m103-invoke-sync", "flows": ["m103"],
                     "triggers": [http("GET", "/m103/invoke-sync")]}, invoke_sync)
