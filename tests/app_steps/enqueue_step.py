"""Enqueues in every supported way, and tries an undeclared topic."""

from motia import ApiResponse, enqueue, http, queue, step


async def send(req, ctx):
    how = req.body.get("how")
    if how == "undeclared":
        await ctx.enqueue({"topic": "not.declared", "data": {}})
    elif how == "emit":
        await ctx.emit("test.ping", {"via": "emit"})
    elif how == "module":
        await enqueue({"topic": "test.ping", "data": {"via": "module"}})
    elif how == "not-json":
        await ctx.enqueue({"topic": "test.ping", "data": {"value": object()}})
    else:
        await ctx.enqueue({"topic": "test.ping", "data": {"via": "enqueue"}})
    return ApiResponse(status=202, body={"sent": how})


sender = step({"name": "ping-sender", "triggers": [http("POST", "/ping")], "enqueues": ["test.ping"]}, send)


async def receive(data, ctx):
    await ctx.state.set("pings", ctx.trace_id, data)


receiver = step({"name": "ping-receiver", "triggers": [queue("test.ping")]}, receive)
