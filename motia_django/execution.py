"""Run a handler for any trigger kind: conditions, sync/async handlers, the current context.

Every entry point (HTTP view, queue task, cron tick, state and stream triggers)
goes through these functions, so a handler behaves the same whatever woke it.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable, Coroutine
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar

from asgiref.sync import sync_to_async

from .tracing.otel import execution_span

if TYPE_CHECKING:
    from .context import FlowContext
    from .steps.definition import StepDefinition

T = TypeVar("T")

__all__ = ["call", "condition_passes", "current_context", "run_handler", "run_in_worker_loop"]

_current: ContextVar[FlowContext[Any] | None] = ContextVar("motia_current_context", default=None)
_loops = threading.local()


def run_in_worker_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion on this thread's long-lived event loop.

    Worker processes deliver one message after another; reusing one loop per
    thread spares each delivery the loop and thread that ``async_to_sync`` would
    start.
    """
    loop = getattr(_loops, "loop", None)
    if loop is None or loop.is_closed():
        loop = _loops.loop = asyncio.new_event_loop()
    return loop.run_until_complete(coroutine)


def current_context() -> FlowContext[Any] | None:
    """The FlowContext of the execution running in this task or thread, if any."""
    return _current.get()


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """Await ``fn(*args)``; a sync ``fn`` runs in Django's sync thread so it may use the ORM."""
    if inspect.iscoroutinefunction(fn):
        return await fn(*args)
    result = await sync_to_async(fn)(*args)
    if inspect.isawaitable(result):
        result = await result
    return result


async def condition_passes(condition: Callable[..., Any] | None, input_value: Any, ctx: FlowContext[Any]) -> bool:
    """Evaluate a trigger ``condition(input, ctx)``; sync and async conditions both work."""
    if condition is None:
        return True
    return bool(await call(condition, input_value, ctx))


async def run_handler(step: StepDefinition, input_value: Any, ctx: FlowContext[Any]) -> Any:
    """Call ``step.handler(input, ctx)`` with ``ctx`` as the current context."""
    token = _current.set(ctx)
    try:
        with execution_span(ctx):
            return await call(step.handler, input_value, ctx)
    finally:
        _current.reset(token)
