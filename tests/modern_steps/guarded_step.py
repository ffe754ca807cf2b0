"""Middleware keeps its ``(req, ctx, next)`` signature, sync or async, in front of a one-argument handler."""

from motia import http, step


async def require_key(req, ctx, next_handler):
    if req.headers.get("x-m103-key") != "open-sesame":
        return {"status": 401, "body": {"error": "missing key"}}
    return await next_handler()


def tag(req, ctx, next_handler):
    response = next_handler()
    response["headers"] = {**response.get("headers", {}), "X-M103-Tagged": "yes"}
    return response


def handler(request):
    return {"status": 200, "body": {"method": request.method}}


guarded = step({"name": "m103-guarded", "flows": ["m103"],
                "triggers": [http("GET", "/m103/guarded", middleware=[require_key, tag])]}, handler)
