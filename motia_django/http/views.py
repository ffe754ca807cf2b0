"""The Django views that serve HTTP triggers.

Step routes are APIs called with tokens, not browser forms, so they are exempt
from Django's CSRF check; a step that relies on session cookies should add its
own check as step middleware.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from typing import Any

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from ..conf import motia_settings
from ..context import FlowContext
from ..execution import condition_passes, run_handler
from ..registry import Binding
from ..schemas import SchemaViolation
from ..steps.io import ApiResponse, MotiaHttpArgs
from ..steps.triggers import ApiTrigger
from ..tracing import records, trace_id_from_headers
from .middleware import Endpoint, compose, global_middleware
from .request import BodyTooLarge, MalformedBody, build_api_request
from .response import json_response, normalize_response, render_response
from .routing import PathRoutes, RouteTable
from .streaming import HttpStreamResponse

__all__ = ["not_found", "step_view"]

logger = logging.getLogger("motia.http")


class _ConditionFailed(Exception):
    pass


@functools.lru_cache(maxsize=1024)
def _pipeline(binding: Binding, global_paths: tuple[str, ...]) -> Endpoint:
    """Middleware, then body validation, then the condition, then the handler; built once per route."""
    trigger = binding.trigger
    assert isinstance(trigger, ApiTrigger)

    async def endpoint(req: Any, ctx: FlowContext[Any]) -> Any:
        if trigger.body is not None:
            try:
                trigger.body.validate(req.request.body if isinstance(req, MotiaHttpArgs) else req.body)
            except SchemaViolation as exc:
                return ApiResponse(
                    400,
                    {"error": "Request body failed validation", "errors": [e.as_dict() for e in exc.errors],
                     "traceId": ctx.trace_id},
                )
        if not await condition_passes(trigger.condition, req, ctx):
            raise _ConditionFailed
        return await run_handler(binding.step, req, ctx)

    return compose((*global_middleware(global_paths), *(trigger.middleware or ())), endpoint)


@csrf_exempt
async def step_view(request: HttpRequest, *args: str, routes: PathRoutes, table: RouteTable) -> HttpResponseBase:
    method = request.method or "GET"
    if method in routes.methods:
        path_params = routes.params(method, args)
    else:
        found = table.lookup(request.path_info.lstrip("/"), method)
        if found is None:
            allowed = table.allowed(request.path_info.lstrip("/"))
            return json_response(
                405, {"error": f"Method {method} not allowed", "allowed": allowed}, {"Allow": ", ".join(allowed)}
            )
        routes, groups = found
        path_params = routes.params(method, groups)
    return await _serve(request, routes.methods[method], path_params)


async def _serve(request: HttpRequest, binding: Binding, path_params: dict[str, str]) -> HttpResponseBase:
    trace_id = trace_id_from_headers(request.META)
    started_at, started = timezone.now(), time.perf_counter()
    failure: list[BaseException] = []
    response = await _run(request, binding, path_params, trace_id, failure)
    response["X-Trace-Id"] = trace_id
    if motia_settings().TRACING:
        records.record_http(
            trace_id=trace_id, step=binding.step.name, binding=binding.key, status=response.status_code,
            started_at=started_at, duration_ms=(time.perf_counter() - started) * 1000,
            error=failure[0] if failure else None,
        )
    return response


async def _run(
    request: HttpRequest, binding: Binding, path_params: dict[str, str], trace_id: str, failure: list[BaseException]
) -> HttpResponseBase:
    """Serve the request; an exception that became a 500 is appended to ``failure``."""
    trigger = binding.trigger
    assert isinstance(trigger, ApiTrigger)
    options = motia_settings()
    try:
        api_request = build_api_request(request, path_params)
    except BodyTooLarge:
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return json_response(413, {"error": f"Request body exceeds {limit} bytes", "traceId": trace_id})
    except MalformedBody as exc:
        return json_response(400, {"error": "Malformed JSON body", "detail": str(exc), "traceId": trace_id})

    stream = HttpStreamResponse()
    ctx: FlowContext[Any] = FlowContext(binding.step, binding.trigger_info(), trace_id)
    ctx.input_value = MotiaHttpArgs(api_request, stream)

    chain = _pipeline(binding, options.MIDDLEWARE)
    task = asyncio.ensure_future(chain(ctx.input_value, ctx))
    if await stream.started_before(task):
        return await _stream(request, stream, task, ctx)
    try:
        result = normalize_response(task.result())
    except _ConditionFailed:
        return json_response(
            options.HTTP_CONDITION_FAILED_STATUS,
            {"error": "No step accepted this request", "traceId": trace_id},
        )
    except Exception as exc:
        failure.append(exc)
        return _server_error(exc, ctx, options.expose_errors)
    try:
        _check_response_schema(trigger, result, ctx, options.STRICT_RESPONSE_SCHEMA)
    except ResponseSchemaViolation as exc:
        failure.append(exc)
        return _server_error(exc, ctx, options.expose_errors)
    return render_response(result)


async def _stream(
    request: HttpRequest, stream: HttpStreamResponse, task: asyncio.Future[Any], ctx: FlowContext[Any]
) -> HttpResponseBase:
    def report(done: asyncio.Future[Any]) -> None:
        if not done.cancelled() and done.exception() is not None:
            ctx.logger.error("streaming handler failed", exc_info=done.exception())

    task.add_done_callback(report)
    if not isinstance(request, ASGIRequest):
        # WSGI cannot interleave the handler with the response: buffer it.
        await asyncio.wait({task})
        response: HttpResponseBase = HttpResponse(stream.drain(), status=stream.status_code)
    else:
        response = StreamingHttpResponse(stream.chunks(task), status=stream.status_code)
    for key, value in stream.header_values.items():
        response[key] = value
    return response


def _server_error(exc: BaseException, ctx: FlowContext[Any], expose: bool) -> HttpResponseBase:
    ctx.logger.error(f"handler failed: {type(exc).__name__}", exc_info=exc)
    payload: dict[str, Any] = {"error": "Internal Server Error", "traceId": ctx.trace_id}
    if expose:
        payload["detail"] = f"{type(exc).__name__}: {exc}"
    return json_response(500, payload)


class ResponseSchemaViolation(AssertionError):
    """A handler's response broke its ``response_schema`` (raised under ``STRICT_RESPONSE_SCHEMA``)."""


def _check_response_schema(
    trigger: ApiTrigger, response: ApiResponse[Any], ctx: FlowContext[Any], strict: bool
) -> None:
    schema = trigger.responses.get(response.status)
    if schema is None:
        return
    try:
        schema.validate(response.body)
    except SchemaViolation as exc:
        ctx.logger.error(
            f"response {response.status} does not match response_schema",
            {"errors": [e.as_dict() for e in exc.errors]},
        )
        if strict:
            raise ResponseSchemaViolation(str(exc)) from None


def not_found(request: HttpRequest, path: str = "") -> HttpResponseBase:
    """JSON 404 for unknown paths (after ``APPEND_SLASH`` had its chance)."""
    if settings.APPEND_SLASH and not request.path_info.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return json_response(404, {"error": "Not Found", "path": request.path})
