"""The caller and DRF policies on HTTP steps, with a sync handler (``/drf/sync/...``) and an async one
(``/drf/async/...``): the same triggers, served by two steps."""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import IsAuthenticated

from motia import ApiResponse, FlowContext, http, step
from tests.app_steps.drf.support import DrfBurstThrottle, caller


def _triggers(prefix: str) -> list[Any]:
    return [
        http("GET", f"{prefix}/whoami"),
        http("POST", f"{prefix}/whoami"),
        http("GET", f"{prefix}/token", authentication_classes=[TokenAuthentication],
             permission_classes=[IsAuthenticated]),
        http("GET", f"{prefix}/admin", authentication_classes=[TokenAuthentication],
             permission_classes=["rest_framework.permissions.IsAdminUser"]),
        http("POST", f"{prefix}/session", authentication_classes=[SessionAuthentication],
             permission_classes=[IsAuthenticated]),
        http("GET", f"{prefix}/throttled", authentication_classes=[], throttle_classes=[DrfBurstThrottle]),
    ]


def whoami_sync(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    return ApiResponse(200, {**caller(input.request.user, input.request.auth), "kind": "sync",
                             "same": input.user is input.request.user})


async def whoami_async(req: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    return ApiResponse(200, {**caller(req.user, req.auth), "kind": "async", "same": req["user"] is req.user})


sync_step = step({"name": "drf-policies-sync", "flows": ["drf"], "triggers": _triggers("/drf/sync")}, whoami_sync)
async_step = step({"name": "drf-policies-async", "flows": ["drf"], "triggers": _triggers("/drf/async")},
                  whoami_async)
