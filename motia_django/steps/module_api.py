"""Module-level ``enqueue``, ``logger`` and ``stateManager``: the current execution's context.

Inside a handler they act through its ``ctx`` (declared topics, trace id).
Outside any execution (a management command, a shell, a test) ``enqueue``
publishes to any known topic with a fresh trace id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..execution import current_context
from ..logs import StepLogger
from ..state.manager import StateManager
from ..tracing.ids import new_trace_id

__all__ = ["aenqueue", "enqueue", "logger", "stateManager"]

_MISSING: Any = object()


def enqueue(message: Mapping[str, Any] | str, data: Any = _MISSING) -> None:
    """``enqueue({"topic": ..., "data": ...})``: a value in sync code, ``await`` it in async code."""
    from ..queues.publisher import parse_message, publish

    ctx = current_context()
    if ctx is not None:
        return ctx.enqueue(message, *(() if data is _MISSING else (data,)))
    topic, payload, group_id = parse_message(message, *(() if data is _MISSING else (data,)))
    return publish(topic, payload, new_trace_id(), group_id, None, 0)


async def aenqueue(message: Mapping[str, Any] | str, data: Any = _MISSING) -> None:
    """:func:`enqueue` for async code."""
    from ..queues.publisher import apublish, parse_message

    ctx = current_context()
    if ctx is not None:
        await ctx.aenqueue(message, *(() if data is _MISSING else (data,)))
        return
    topic, payload, group_id = parse_message(message, *(() if data is _MISSING else (data,)))
    await apublish(topic, payload, new_trace_id(), group_id, None, 0)


class _ContextLogger:
    """Logs through the running handler's ``ctx.logger`` (trace id included), else plainly."""

    def __getattr__(self, name: str) -> Any:
        ctx = current_context()
        target = ctx.logger if ctx is not None else StepLogger(None, None)
        return getattr(target, name)


logger: Any = _ContextLogger()
stateManager: StateManager = StateManager()
