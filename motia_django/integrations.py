"""Sending the signals of :mod:`motia_django.signals` at the runtime's seams.

Receivers are integrations (metrics, error trackers, audit trails): one that
raises is logged and the execution carries on.  From async code sync receivers
run in Django's sync thread (``Signal.asend_robust``), so they may use the ORM.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.dispatch import Signal

from .signals import dead_letter_replayed, dead_lettered, execution_finished, execution_started

if TYPE_CHECKING:
    from .context import FlowContext
    from .models import DeadLetter

__all__ = ["announce_dead_letter", "announce_replay", "announced", "announced_async", "send"]

logger = logging.getLogger("motia.signals")


def send(signal: Signal, sender: Any, **fields: Any) -> None:
    """Send ``signal`` to every receiver; a receiver's error is logged, not raised."""
    _log_failures(signal.send_robust(sender, **fields))


async def _asend(signal: Signal, sender: Any, **fields: Any) -> None:
    _log_failures(await signal.asend_robust(sender, **fields))


def _log_failures(responses: list[tuple[Any, Any]]) -> None:
    for receiver, response in responses:
        if isinstance(response, Exception):
            logger.error("signal receiver %r failed", receiver, exc_info=response)


def _fields(ctx: FlowContext[Any], input_value: Any) -> dict[str, Any]:
    return {"step": ctx.step_name, "trigger": str(ctx.trigger.type), "trace_id": ctx.trace_id, "input": input_value,
            "ctx": ctx}


def _finished(started: float, error: BaseException | None) -> dict[str, Any]:
    return {"outcome": "failed" if error is not None else "succeeded", "duration": time.perf_counter() - started,
            "error": error}


@contextmanager
def announced(ctx: FlowContext[Any], input_value: Any) -> Iterator[None]:
    """``execution_started`` before the block, ``execution_finished`` after it (from sync code)."""
    fields = _fields(ctx, input_value)
    send(execution_started, ctx.step, **fields)
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        send(execution_finished, ctx.step, **fields, **_finished(started, exc))
        raise
    send(execution_finished, ctx.step, **fields, **_finished(started, None))


@asynccontextmanager
async def announced_async(ctx: FlowContext[Any], input_value: Any) -> AsyncIterator[None]:
    """:func:`announced` for async code."""
    fields = _fields(ctx, input_value)
    await _asend(execution_started, ctx.step, **fields)
    started = time.perf_counter()
    try:
        yield
    except BaseException as exc:
        await _asend(execution_finished, ctx.step, **fields, **_finished(started, exc))
        raise
    await _asend(execution_finished, ctx.step, **fields, **_finished(started, None))


def announce_dead_letter(letter: DeadLetter, error: BaseException) -> None:
    """``dead_lettered``, once the transaction writing ``letter`` commits."""
    transaction.on_commit(lambda: send(dead_lettered, type(letter), dead_letter=letter, error=error), robust=True)


def announce_replay(letter: DeadLetter, envelope: dict[str, Any]) -> None:
    """``dead_letter_replayed``, once the transaction sending ``envelope`` commits."""
    transaction.on_commit(
        lambda: send(dead_letter_replayed, type(letter), dead_letter=letter, envelope=envelope), robust=True)
