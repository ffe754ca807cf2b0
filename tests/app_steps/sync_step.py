"""A plain (sync) handler that uses the ORM and ctx.state directly."""

from django.contrib.auth.models import User

from motia import ApiResponse, http, step


def count_users(req, ctx):
    ctx.state.set("sync", "calls", {"n": 1})
    return ApiResponse(status=200, body={"users": User.objects.count(), "state": ctx.state.get("sync", "calls")})


sync_step = step({"name": "sync-handler", "triggers": [http("GET", "/sync/users")]}, count_users)
