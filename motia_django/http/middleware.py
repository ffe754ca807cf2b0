"""Step middleware ``(req, ctx, next_handler)``: global ones from settings, then the trigger's."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from django.utils.module_loading import import_string

from ..execution import call

__all__ = ["Endpoint", "Middleware", "compose", "global_middleware"]

Middleware = Callable[..., Any]
Endpoint = Callable[[Any, Any], Awaitable[Any]]


@functools.lru_cache(maxsize=8)
def global_middleware(paths: tuple[str, ...]) -> tuple[Middleware, ...]:
    """Import ``MOTIA["MIDDLEWARE"]`` once per distinct setting."""
    return tuple(import_string(path) for path in paths)


def compose(middleware: Sequence[Middleware], endpoint: Endpoint) -> Endpoint:
    """Wrap ``endpoint`` so the first middleware runs first.

    ``next_handler`` may be called as ``next_handler(req, ctx)`` (to pass on a
    changed request) or as ``next_handler()``.
    """
    chain = endpoint
    for layer in reversed(middleware):
        chain = _wrap(layer, chain)
    return chain


def _wrap(layer: Middleware, inner: Endpoint) -> Endpoint:
    async def run(req: Any, ctx: Any) -> Any:
        async def next_handler(*args: Any) -> Any:
            return await inner(*(args or (req, ctx)))

        return await call(layer, req, ctx, next_handler)

    return run
