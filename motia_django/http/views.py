"""The Django views that serve HTTP triggers.

Each route has two views, and :class:`~.routing.StepPattern` hands Django the
one that fits the server: :func:`step_view` (sync) under WSGI and
:func:`async_step_view` under ASGI.  The route's own chain (middleware,
condition, handler) then runs as its kind:

================  ===================================  ===========================================
chain             WSGI (sync view)                     ASGI (async view)
================  ===================================  ===========================================
all sync          called on the request thread         in the request's thread, as Django runs
                                                       a sync view
any part async    on the request thread's event loop   on the server's event loop
================  ===================================  ===========================================

A sync chain runs inside ``transaction.atomic()`` for every database with
``ATOMIC_REQUESTS``, and a handler exception rolls it back (as in a Django
view); an async chain is not wrapped, as Django refuses ``ATOMIC_REQUESTS`` for
async views.

Django's CSRF middleware lets step routes through: they check CSRF as DRF does,
only for a request whose user comes from the session cookie, and run a route's
DRF policies before its middleware (:mod:`.auth`).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.db import connections, transaction
from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import Resolver404, resolve
from django.views.decorators.csrf import csrf_exempt

from .. import metrics
from ..conf import motia_settings
from ..context import FlowContext
from ..execution import acondition_passes, arun_handler, condition_passes, is_async, run_coroutine, run_handler
from ..registry import Binding
from ..schemas import Schema, SchemaViolation
from ..steps.io import ApiResponse, MotiaHttpArgs
from ..steps.triggers import ApiTrigger
from ..tracing import records, trace_id_from_headers
from .auth import Caller, identify, needs_sync_thread, policy_for
from .middleware import AsyncEndpoint, SyncEndpoint, compose_async, compose_sync, global_middleware
from .request import BodyTooLarge, MalformedBody, UnsupportedContentType, build_api_request
from .response import json_response, normalize_response, render_response
from .routing import PathRoutes, RouteTable
from .streaming import HttpStreamResponse

__all__ = ["async_step_view", "not_found", "step_view"]

logger = logging.getLogger("motia.http")


class _ConditionFailed(Exception):
    pass


class ResponseSchemaViolation(AssertionError):
    """A handler's response broke its ``response_schema`` (raised under ``STRICT_RESPONSE_SCHEMA``)."""


# -- the chain of one route, built once -----------------------------------------------------------


@dataclass(frozen=True)
class Chain:
    """Middleware, then body validation, then the condition, then the handler."""

    is_async: bool
    #: an async chain with sync parts (a sync middleware, condition or handler)
    mixed: bool
    run_sync: SyncEndpoint
    run_async: AsyncEndpoint
    #: the compiled ``response_schema`` by status
    responses: dict[int, Schema]


def _invalid_body(body: Schema | None, req: Any, ctx: FlowContext[Any]) -> ApiResponse[Any] | None:
    """The 400 answer to a body breaking ``body_schema``; a serializer's handler gets its ``validated_data``."""
    if body is None:
        return None
    request = req.request if isinstance(req, MotiaHttpArgs) else req
    try:
        validated = body.validate(request.body)
    except SchemaViolation as exc:
        return ApiResponse(
            400,
            {"error": "Request body failed validation", "errors": [e.as_dict() for e in exc.errors],
             "traceId": ctx.trace_id},
        )
    if body.serializer is not None:
        request.body = validated
    return None


def _condition_input(req: Any) -> Any:
    """What a condition sees: the ``ApiRequest`` itself (body, params, headers), as in Motia, not the
    handler's streaming wrapper; whatever a middleware passed on instead reaches it as it is."""
    return req.request if isinstance(req, MotiaHttpArgs) else req


@functools.lru_cache(maxsize=1024)
def chain_for(binding: Binding, global_paths: tuple[str, ...]) -> Chain:
    trigger = binding.trigger
    assert isinstance(trigger, ApiTrigger)
    step, body, condition = binding.step, trigger.body, trigger.condition
    layers = (*global_middleware(global_paths), *(trigger.middleware or ()))

    def endpoint(req: Any, ctx: FlowContext[Any]) -> Any:
        invalid = _invalid_body(body, req, ctx)
        if invalid is not None:
            return invalid
        if condition is not None and not condition_passes(condition, _condition_input(req), ctx):
            raise _ConditionFailed
        return run_handler(step, req, ctx)

    #: a serializer may query the database (a ``ModelSerializer``'s unique fields): not on the event loop
    validate_async = (sync_to_async(_invalid_body, thread_sensitive=True) if body is not None and body.serializer
                      else None)

    async def aendpoint(req: Any, ctx: FlowContext[Any]) -> Any:
        invalid = await validate_async(body, req, ctx) if validate_async else _invalid_body(body, req, ctx)
        if invalid is not None:
            return invalid
        if condition is not None and not await acondition_passes(condition, _condition_input(req), ctx):
            raise _ConditionFailed
        return await arun_handler(step, req, ctx)

    kinds = [is_async(fn) for fn in (*layers, condition, step.handler) if fn is not None]
    return Chain(any(kinds), any(kinds) and not all(kinds), compose_sync(layers, endpoint),
                 compose_async(layers, aendpoint), dict(trigger.responses))


# -- views ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """What a request resolved to: the binding serving its method, its path parameters, its chain."""

    binding: Binding
    path_params: dict[str, str]
    chain: Chain


def _target(
    request: HttpRequest, args: tuple[str, ...], routes: PathRoutes, table: RouteTable
) -> _Target | HttpResponseBase:
    """The binding for the request's method on this path shape (or a later one), else the 405 answer."""
    method = request.method or "GET"
    if method in routes.methods:
        binding, path_params = routes.methods[method], routes.params(method, args)
    else:
        found = table.lookup(request.path_info.lstrip("/"), method)
        if found is None:
            allowed = table.allowed(request.path_info.lstrip("/"))
            return json_response(
                405, {"error": f"Method {method} not allowed", "allowed": allowed}, {"Allow": ", ".join(allowed)}
            )
        other, groups = found
        binding, path_params = other.methods[method], other.params(method, groups)
    return _Target(binding, path_params, chain_for(binding, motia_settings().MIDDLEWARE))


def _mark_non_atomic(view: Callable[..., Any]) -> Callable[..., Any]:
    """Django must not wrap these views in ``ATOMIC_REQUESTS``: sync chains are wrapped inside them."""
    view._non_atomic_requests = set(connections)  # type: ignore[attr-defined]
    return view


@_mark_non_atomic
@csrf_exempt
def step_view(request: HttpRequest, *args: str, routes: PathRoutes, table: RouteTable) -> HttpResponseBase:
    """The route's view under WSGI and in Django's test client."""
    found = _target(request, args, routes, table)
    if isinstance(found, HttpResponseBase):
        return found
    if found.chain.is_async:
        return run_coroutine(_serve_async(request, found.binding, found.chain, found.path_params))
    return _serve_sync(request, found.binding, found.chain, found.path_params)


@_mark_non_atomic
@csrf_exempt
async def async_step_view(
    request: HttpRequest, *args: str, routes: PathRoutes, table: RouteTable
) -> HttpResponseBase:
    """The route's view under ASGI."""
    found = _target(request, args, routes, table)
    if isinstance(found, HttpResponseBase):
        return found
    if found.chain.is_async:
        return await _serve_async(request, found.binding, found.chain, found.path_params)
    return await sync_to_async(_serve_sync, thread_sensitive=True)(request, found.binding, found.chain,
                                                                    found.path_params)


# -- serving --------------------------------------------------------------------------------------


@dataclass
class _Execution:
    """One HTTP execution: its context, and what to record when it ends."""

    binding: Binding
    chain: Chain
    trace_id: str
    started_at: float
    started: float
    error: BaseException | None = None

    @classmethod
    def begin(cls, request: HttpRequest, binding: Binding, chain: Chain) -> _Execution:
        trace_id = trace_id_from_headers(request.META, motia_settings().TRUST_TRACE_HEADER)
        return cls(binding, chain, trace_id, time.time(), time.perf_counter())

    def end(self, response: HttpResponseBase) -> HttpResponseBase:
        response["X-Trace-Id"] = self.trace_id
        self.record(response.status_code)
        return response

    def record(self, status: int) -> None:
        metrics.http_request_ended(self.binding, status, time.perf_counter() - self.started, self.error)
        if motia_settings().TRACING:
            records.record_http(
                trace_id=self.trace_id, step=self.binding.step.name, binding=self.binding.key,
                status=status, started_at=self.started_at,
                duration_ms=(time.perf_counter() - self.started) * 1000, error=self.error,
            )

    def identify(self, request: HttpRequest, path_params: dict[str, str]) -> Caller | HttpResponseBase:
        """Who calls (sync: it may query the database), or the 401/403/429 answer."""
        return identify(request, policy_for(self.binding), path_params, self.trace_id)

    async def aidentify(self, request: HttpRequest, path_params: dict[str, str]) -> Caller | HttpResponseBase:
        """:meth:`identify` from async code: in a sync thread when it may reach the database."""
        if needs_sync_thread(request, policy_for(self.binding)):
            return await sync_to_async(self.identify, thread_sensitive=True)(request, path_params)
        return self.identify(request, path_params)

    def context(self, request: HttpRequest, path_params: dict[str, str], stream: HttpStreamResponse,
                caller: Caller) -> FlowContext[Any] | HttpResponseBase:
        """The handler's context, or the 400/413/415 answer to a body that cannot be read."""
        trigger = self.binding.trigger
        assert isinstance(trigger, ApiTrigger)
        try:
            api_request = build_api_request(request, path_params, trigger.content_types, caller.user, caller.auth)
        except UnsupportedContentType as exc:
            accepted = trigger.content_types or ["application/json"]
            return json_response(415, {"error": f"Unsupported content type {str(exc) or '(none)'!r}",
                                       "accepted": accepted, "traceId": self.trace_id})
        except BodyTooLarge:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return json_response(413, {"error": f"Request body exceeds {limit} bytes", "traceId": self.trace_id})
        except MalformedBody as exc:
            return json_response(400, {"error": "Malformed JSON body", "detail": str(exc), "traceId": self.trace_id})
        ctx: FlowContext[Any] = FlowContext(self.binding.step, self.binding.trigger_info(), self.trace_id)
        ctx.input_value = MotiaHttpArgs(api_request, stream)
        return ctx

    def respond(self, ctx: FlowContext[Any], outcome: Callable[[], Any]) -> HttpResponseBase:
        """Render what the chain returned (``outcome()``), or the error it raised."""
        options = motia_settings()
        try:
            result = normalize_response(outcome())
            _check_response_schema(self.chain, result, ctx, options.STRICT_RESPONSE_SCHEMA)
        except _ConditionFailed:
            return json_response(
                options.HTTP_CONDITION_FAILED_STATUS,
                {"error": "Request condition not met", "skipped": True, "traceId": self.trace_id},
            )
        except Exception as exc:
            self.error = exc
            return _server_error(exc, ctx, options.expose_errors)
        return render_response(result)


def _serve_sync(request: HttpRequest, binding: Binding, chain: Chain, path_params: dict[str, str]) -> HttpResponseBase:
    execution = _Execution.begin(request, binding, chain)
    caller = execution.identify(request, path_params)
    if isinstance(caller, HttpResponseBase):
        return execution.end(caller)
    stream = HttpStreamResponse()
    ctx = execution.context(request, path_params, stream, caller)
    if isinstance(ctx, HttpResponseBase):
        return execution.end(ctx)
    atomic = [alias for alias, options in connections.settings.items() if options["ATOMIC_REQUESTS"]]
    if not atomic:
        return execution.end(_run_sync(execution, chain, ctx, stream))
    with ExitStack() as transactions:
        for alias in atomic:
            transactions.enter_context(transaction.atomic(using=alias))
        response = _run_sync(execution, chain, ctx, stream)
        if execution.error is not None:  # the request failed: nothing the handler wrote stays
            for alias in atomic:
                transaction.set_rollback(True, using=alias)
    return execution.end(response)


def _run_sync(execution: _Execution, chain: Chain, ctx: FlowContext[Any], stream: HttpStreamResponse
              ) -> HttpResponseBase:
    try:
        result = chain.run_sync(ctx.input_value, ctx)
    except Exception as exc:
        return execution.respond(ctx, functools.partial(_reraise, exc))
    return _buffered(stream) if stream.started else execution.respond(ctx, lambda: result)


async def _serve_async(
    request: HttpRequest, binding: Binding, chain: Chain, path_params: dict[str, str]
) -> HttpResponseBase:
    execution = _Execution.begin(request, binding, chain)
    caller = await execution.aidentify(request, path_params)
    if isinstance(caller, HttpResponseBase):
        return execution.end(caller)
    served_by_asgi = isinstance(request, ASGIRequest)
    stream = HttpStreamResponse(asyncio.get_running_loop() if served_by_asgi else None,
                                motia_settings().HTTP_STREAM_BUFFER)
    ctx = execution.context(request, path_params, stream, caller)
    if isinstance(ctx, HttpResponseBase):
        return execution.end(ctx)
    if not served_by_asgi:
        # WSGI sends a streamed response when the handler is done, so nothing needs to run beside it
        try:
            result = await chain.run_async(ctx.input_value, ctx)
        except Exception as exc:
            return execution.end(execution.respond(ctx, functools.partial(_reraise, exc)))
        return execution.end(_buffered(stream) if stream.started else execution.respond(ctx, lambda: result))
    if chain.mixed:
        task = _with_own_sync_thread(chain.run_async(ctx.input_value, ctx))
    else:
        task = asyncio.ensure_future(chain.run_async(ctx.input_value, ctx))
    try:
        streams = await stream.started_before(task)
    except asyncio.CancelledError:  # Django cancels the view when the client disconnects
        stream.abandon(task)
        execution.error = stream.disconnected
        execution.record(stream.status_code)
        raise
    if streams:
        return _stream(execution, stream, task, ctx)
    return execution.end(execution.respond(ctx, task.result))


def _with_own_sync_thread(coroutine: Awaitable[Any]) -> asyncio.Future[Any]:
    """Run an async chain whose sync parts get a thread of their own, not the request's.

    A sync middleware waits in its thread until the handler returns; were that
    the request's thread, Django's own middleware could not pass a streamed
    response on before the handler finished.
    """
    executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="motia-request")

    async def run() -> Any:
        async with ThreadSensitiveContext(executor=executor):
            return await coroutine

    def release(_: asyncio.Future[Any]) -> None:
        executor.submit(connections.close_all)
        executor.shutdown(wait=False)

    task = asyncio.ensure_future(run())
    task.add_done_callback(release)
    return task


def _reraise(exc: BaseException) -> Any:
    raise exc


def _buffered(stream: HttpStreamResponse) -> HttpResponseBase:
    response = HttpResponse(stream.drain(), status=stream.status_code)
    for key, value in stream.header_values.items():
        response[key] = value
    return response


def _stream(execution: _Execution, stream: HttpStreamResponse, task: asyncio.Future[Any], ctx: FlowContext[Any]
            ) -> HttpResponseBase:
    """The streamed response; its execution is recorded when the handler ends, not when the response begins."""
    def finished(done: asyncio.Future[Any]) -> None:
        if stream.disconnected is not None:
            execution.error = stream.disconnected
            ctx.logger.info(f"response abandoned: {stream.disconnected}")
        elif done.cancelled():
            execution.error = asyncio.CancelledError("the streaming handler was cancelled")
        elif done.exception() is not None:
            execution.error = done.exception()
            ctx.logger.error("streaming handler failed", exc_info=execution.error)
        execution.record(stream.status_code)

    task.add_done_callback(finished)
    response = StreamingHttpResponse(stream.body(task), status=stream.status_code)
    for key, value in stream.header_values.items():
        response[key] = value
    response["X-Trace-Id"] = execution.trace_id
    return response


def _server_error(exc: BaseException, ctx: FlowContext[Any], expose: bool) -> HttpResponseBase:
    ctx.logger.error(f"handler failed: {type(exc).__name__}", exc_info=exc)
    payload: dict[str, Any] = {"error": "Internal Server Error", "traceId": ctx.trace_id}
    if expose:
        payload["detail"] = f"{type(exc).__name__}: {exc}"
    return json_response(500, payload)


def _check_response_schema(chain: Chain, response: ApiResponse[Any], ctx: FlowContext[Any], strict: bool) -> None:
    schema = chain.responses.get(response.status)
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


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> HttpResponseBase:
    """JSON 404 for unknown paths (after ``APPEND_SLASH`` had its chance); exempt from CSRF, which would
    answer an unknown POST with its HTML 403 page instead, and the 404 runs no code."""
    if settings.APPEND_SLASH and not request.path_info.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            match = resolve(request.path_info + "/")
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return json_response(404, {"error": "Not Found", "path": request.path})
