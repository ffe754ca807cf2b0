"""Execution records: one row per attempt of a step (status, timing, error).

Most rows are written after the attempt, in batches off the hot path (see
:mod:`.recorder`), while ``MOTIA["TRACING"]`` is on.  Attempts whose count
matters for correctness (redelivered messages, FIFO heads) are written before
the handler runs, whatever the setting, and stay ``running`` if the worker dies;
a failed attempt is written with the retry or dead letter it hands on.
"""

from __future__ import annotations

import time
import traceback as tb
from datetime import UTC, datetime
from typing import Any

from ..models import Execution
from .recorder import record as queue_record

__all__ = ["begin", "fields", "finish", "record", "record_http", "write"]


def fields(**values: Any) -> dict[str, Any]:
    """The fields of an attempt starting now (``started_at`` as ``time.time()``: the writer converts it)."""
    return {**values, "started_at": time.time()}


def _error(error: BaseException | None) -> dict[str, str]:
    if error is None:
        return {"error": "", "traceback": ""}
    return {"error": f"{type(error).__name__}: {error}", "traceback": "".join(tb.format_exception(error))}


def _outcome(status: str, started: float, error: BaseException | None) -> dict[str, Any]:
    return {"status": status, "duration_ms": (time.perf_counter() - started) * 1000, **_error(error)}


def begin(values: dict[str, Any]) -> Execution:
    """Insert the ``running`` row of an attempt now."""
    return Execution.objects.create(**{**values, "started_at": datetime.fromtimestamp(values["started_at"], UTC)})


def finish(execution: Execution, status: str, started: float, error: BaseException | None = None) -> None:
    for key, value in _outcome(status, started, error).items():
        setattr(execution, key, value)
    execution.save(update_fields=["status", "duration_ms", "error", "traceback"])


def write(values: dict[str, Any], status: str, started: float, error: BaseException | None = None) -> Execution:
    """Insert the finished attempt's row now (in the caller's transaction)."""
    return begin({**values, **_outcome(status, started, error)})


def record(values: dict[str, Any], status: str, started: float, error: BaseException | None = None) -> None:
    """Queue the finished attempt's row for the background writer."""
    queue_record({**values, **_outcome(status, started, error)})


def record_http(
    *, trace_id: str, step: str, binding: str, status: int, started_at: float, duration_ms: float,
    error: BaseException | None,
) -> None:
    """Queue the record of one HTTP execution for the background writer (``started_at``: ``time.time()``)."""
    failed = error is not None or status >= 500
    queue_record({
        "trace_id": trace_id, "step": step, "trigger_type": "http", "binding": binding,
        "status": _FAILED if failed else _SUCCEEDED, "started_at": started_at, "duration_ms": duration_ms,
        **(_error(error) if error is not None else _NO_ERROR),
    })


_FAILED, _SUCCEEDED = str(Execution.Status.FAILED), str(Execution.Status.SUCCEEDED)
_NO_ERROR = {"error": "", "traceback": ""}
