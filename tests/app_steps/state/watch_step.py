"""State triggers: record every change to the 'watched' scope; a runaway self-writer on 'loop'."""

from motia import http, state, step


def only_watched(input, ctx) -> bool:
    return input.group_id == "watched"


async def record(input, ctx):
    await ctx.state.set("state-events", f"{input.item_id}-{input.event_type}", {
        "old": input.get("old_value"), "new": input["new_value"], "trace": input.trace_id,
        "type": ctx.trigger.type, "is_state": ctx.is_state(),
    })


watcher = step({"name": "state-watcher", "triggers": [state(condition=only_watched)]}, record)


async def loop_again(input, ctx):
    await ctx.state.update("loop", "counter", [{"type": "increment", "path": "n", "value": 1}])


looper = step({"name": "state-looper",
               "triggers": [state(condition=lambda i, c: i.group_id == "loop")]}, loop_again)


async def write(req, ctx):
    scope, key = req.path_params["scope"], req.path_params["key"]
    if req.method == "DELETE":
        return {"status": 200, "body": {"old": await ctx.state.delete(scope, key)}}
    result = await ctx.state.set(scope, key, req.body)
    return {"status": 200, "body": {"old": result.old_value, "new": result.new_value}}


writer = step({"name": "state-writer", "triggers": [http("PUT", "/state/:scope/:key"),
                                                     http("DELETE", "/state/:scope/:key")]}, write)
