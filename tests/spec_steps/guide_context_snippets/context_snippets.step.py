# motia-python-guide.txt, "Flow Context" and "Internal State" (Python snippets).
# The guide shows these as loose lines; they run here, in the guide's order, inside
# one step (config marked "added") reachable over HTTP and from a queue.
from motia import StepConfig, ApiTrigger, EventTrigger, ApiRequest, ApiResponse, FlowContext, Stream, step_wrapper

todo_stream = Stream("todos")


async def handler(req, ctx: FlowContext):
    # emit
    await ctx.emit("topic.name", {"key": "value"})

    # trigger
    if ctx.trigger.type == "api":
        ctx.logger.info(f"API {ctx.trigger.method} {ctx.trigger.path}")
    elif ctx.trigger.type == "event":
        ctx.logger.info(f"Event {ctx.trigger.topic}")

    # traceId / trace_id
    ctx.logger.info(f"[{ctx.trace_id}] Processing request")

    # state
    await ctx.state.set("config", "theme", "dark")
    theme = await ctx.state.get("config", "theme")

    # streams
    await todo_stream.set("inbox", "item-1", {"title": "Buy milk"})

    # logger
    ctx.logger.info("Processing started")
    ctx.logger.error("An error occurred", exc_info=True)

    # -- added: report what the snippets read, for HTTP callers ----------------------------
    if ctx.trigger.type == "api":
        return ApiResponse(status=200, body={"theme": theme})


async def internal_state(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    # Set state
    await ctx.state.set("user-prefs", "theme", "dark")

    # Get state
    theme = await ctx.state.get("user-prefs", "theme")

    # Get all in group
    prefs = await ctx.state.get_group("user-prefs")

    # Delete
    await ctx.state.delete("user-prefs", "theme")

    # -- added: the guide's fragment ends after the delete; an HTTP handler must respond -
    return ApiResponse(status=200, body={"theme": theme, "prefs": prefs})


# -- added: configs ---------------------------------------------------------------------
snippets = step_wrapper(
    StepConfig(
        name="context-snippets",
        triggers=[ApiTrigger(path="/snippets", method="POST"), EventTrigger(subscribes=["snippets.run"])],
        emits=["topic.name"],
    ),
    __file__,
    handler,
)
prefs = step_wrapper(
    StepConfig(name="internal-state", triggers=[ApiTrigger(path="/prefs", method="POST")]),
    __file__,
    internal_state,
)
# --------------------------------------------------------------------------------------
