"""Conditions that report what they were given: the request itself, sync and async."""

from __future__ import annotations

from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, http, step

BODY = {"type": "object"}


def _seen(request: Any) -> dict[str, Any]:
    return {
        "is_api_request": isinstance(request, ApiRequest),
        "body": request.body,
        "path_params": request.path_params,
        "query_params": request.query_params,
        "header": request.headers.get("X-Compat"),
        "method": request.method,
        "raw": bytes(request.request_body).decode(),
    }


def allowed(request: Any, ctx: FlowContext[Any]) -> bool:
    ctx.condition_saw = _seen(request)
    return bool(request.query_params.get("allow") == "yes")


async def allowed_async(request: Any, ctx: FlowContext[Any]) -> bool:
    ctx.condition_saw = _seen(request)
    return bool(request.query_params.get("allow") == "yes")


def report(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    return ApiResponse(200, {"condition_saw": ctx.condition_saw, "handler_body": input.request.body})


async def report_async(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    return ApiResponse(200, {"condition_saw": ctx.condition_saw, "handler_body": input.request.body})


sync_condition = step(
    {"name": "compat-http-sync-condition",
     "triggers": [http("POST", "/compat-http/condition/sync/:item", body_schema=BODY, condition=allowed)]},
    report,
)
async_condition = step(
    {"name": "compat-http-async-condition",
     "triggers": [http("POST", "/compat-http/condition/async/:item", body_schema=BODY, condition=allowed_async)]},
    report_async,
)
