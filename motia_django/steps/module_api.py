"""Module-level ``enqueue``, ``logger`` and ``stateManager``: the current execution's context."""

from __future__ import annotations

from typing import Any

from ..execution import current_context
from ..logs import StepLogger
from ..state.manager import StateManager

__all__ = ["enqueue", "logger", "stateManager"]


def enqueue(message: Any, data: Any = None) -> Any:
    """``await enqueue({"topic": ..., "data": ...})`` from anywhere inside a handler."""
    ctx = current_context()
    if ctx is None:
        raise RuntimeError("enqueue() was called outside a step execution; use it inside a handler")
    return ctx.enqueue(message) if data is None else ctx.enqueue(message, data)


class _ContextLogger:
    """Logs through the running handler's ``ctx.logger`` (trace id included), else plainly."""

    def __getattr__(self, name: str) -> Any:
        ctx = current_context()
        target = ctx.logger if ctx is not None else StepLogger(None, None)
        return getattr(target, name)


logger: Any = _ContextLogger()
stateManager: StateManager = StateManager()
