"""An async handler that forgets to await a state write."""

from motia import ApiResponse, http, step


async def handler(req, ctx):
    ctx.state.set("core-unawaited", "k", {"lost": True})  # missing await: must not pass silently
    return ApiResponse(200, {"ok": True})


forgot = step({"name": "core-unawaited", "triggers": [http("POST", "/core/unawaited")]}, handler)
