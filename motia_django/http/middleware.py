"""Step middleware ``(req, ctx, next_handler)``: global ones from settings, then the trigger's.

A chain whose every part is sync (middleware, condition, handler) is composed of
plain calls and runs on the request thread; any async part makes it an async
chain, in which each layer runs as its own kind (see :mod:`motia_django.execution`).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from django.utils.module_loading import import_string

from ..execution import acall, call, is_async, sync_bridge

__all__ = ["AsyncEndpoint", "Middleware", "SyncEndpoint", "compose_async", "compose_sync", "global_middleware"]

Middleware = Callable[..., Any]
SyncEndpoint = Callable[[Any, Any], Any]
AsyncEndpoint = Callable[[Any, Any], Awaitable[Any]]


@functools.lru_cache(maxsize=8)
def global_middleware(paths: tuple[str, ...]) -> tuple[Middleware, ...]:
    """Import ``MOTIA["MIDDLEWARE"]`` once per distinct setting."""
    return tuple(import_string(path) for path in paths)


def compose_sync(middleware: Sequence[Middleware], endpoint: SyncEndpoint) -> SyncEndpoint:
    """Wrap ``endpoint`` in sync middleware, the first running first.

    ``next_handler`` may be called as ``next_handler(req, ctx)`` (to pass on a
    changed request) or as ``next_handler()``.
    """
    chain = endpoint
    for layer in reversed(middleware):
        chain = _wrap_sync(layer, chain)
    return chain


def compose_async(middleware: Sequence[Middleware], endpoint: AsyncEndpoint) -> AsyncEndpoint:
    """Wrap ``endpoint`` in middleware of either kind, the first running first."""
    chain = endpoint
    for layer in reversed(middleware):
        chain = _wrap_async(layer, chain)
    return chain


def _wrap_sync(layer: Middleware, inner: SyncEndpoint) -> SyncEndpoint:
    def run(req: Any, ctx: Any) -> Any:
        def next_handler(*args: Any) -> Any:
            return inner(*(args or (req, ctx)))

        return call(layer, req, ctx, next_handler)

    return run


def _wrap_async(layer: Middleware, inner: AsyncEndpoint) -> AsyncEndpoint:
    if is_async(layer):
        async def run_async(req: Any, ctx: Any) -> Any:
            async def next_handler(*args: Any) -> Any:
                return await inner(*(args or (req, ctx)))

            return await layer(req, ctx, next_handler)

        return run_async

    async def run_in_thread(req: Any, ctx: Any) -> Any:
        # sync middleware runs in Django's sync thread; what it calls next continues on the loop
        def next_handler(*args: Any) -> Any:
            return sync_bridge(inner)(*(args or (req, ctx)))

        return await acall(layer, req, ctx, next_handler)

    return run_in_thread
