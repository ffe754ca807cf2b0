"""The counters and histograms kept as executions end, one call per seam.

Each function returns at once when ``MOTIA["METRICS"]`` is off.  Under
``PROMETHEUS_MULTIPROC_DIR`` (gunicorn workers, Celery pool processes) every
process writes its values to files there, and a scrape sums them.  Labels are
bounded: step names, trigger kinds, route templates, methods and statuses.
"""

from __future__ import annotations

import functools
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.utils import timezone
from prometheus_client import Counter, Histogram

from ..conf import motia_settings

if TYPE_CHECKING:
    from ..registry import Binding

__all__ = [
    "CRON_LATENESS",
    "DEAD_LETTERS",
    "EXECUTIONS",
    "EXECUTION_SECONDS",
    "FIFO_LAG",
    "HTTP_REQUESTS",
    "HTTP_SECONDS",
    "RETRIES",
    "attempt_ended",
    "cron_tick_produced",
    "dead_letter_written",
    "http_request_ended",
]

_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_DELAY_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0)

EXECUTIONS = Counter("motia_executions", "Ended executions (HTTP requests and background attempts).",
                     ["step", "trigger", "outcome"])
EXECUTION_SECONDS = Histogram("motia_execution_duration_seconds", "How long executions ran.",
                              ["step", "trigger"], buckets=_DURATION_BUCKETS)
RETRIES = Counter("motia_retries", "Failed background attempts that were scheduled to run again.", ["step", "trigger"])
DEAD_LETTERS = Counter("motia_dead_letters", "Messages that became dead letters.", ["step"])
HTTP_REQUESTS = Counter("motia_http_requests", "HTTP step responses by route and status.",
                        ["route", "method", "status"])
HTTP_SECONDS = Histogram("motia_http_request_duration_seconds", "How long HTTP steps took to answer.",
                         ["route", "method"], buckets=_DURATION_BUCKETS)
FIFO_LAG = Histogram("motia_fifo_lag_seconds", "Seconds from enqueue to the first attempt of a FIFO message.",
                     ["step"], buckets=_DELAY_BUCKETS)
CRON_LATENESS = Histogram("motia_cron_lateness_seconds", "Seconds from a cron tick's scheduled time to its queueing.",
                          ["step"], buckets=_DELAY_BUCKETS)


@functools.lru_cache(maxsize=4096)
def _http_series(binding: Binding, status: int, failed: bool) -> tuple[Any, Any, Any, Any]:
    """The labelled children one HTTP answer updates (``labels()`` is the costly part; bindings live long)."""
    step, trigger = binding.step.name, str(binding.trigger.kind)
    route, method = getattr(binding.trigger, "path", ""), getattr(binding.trigger, "method", "")
    return (EXECUTIONS.labels(step, trigger, "failed" if failed else "succeeded"),
            EXECUTION_SECONDS.labels(step, trigger), HTTP_REQUESTS.labels(route, method, str(status)),
            HTTP_SECONDS.labels(route, method))


@functools.lru_cache(maxsize=4096)
def _attempt_series(binding: Binding, status: str) -> tuple[Any, Any]:
    step, trigger = binding.step.name, str(binding.trigger.kind)
    return EXECUTIONS.labels(step, trigger, status), EXECUTION_SECONDS.labels(step, trigger)


def http_request_ended(binding: Binding, status: int, seconds: float, error: BaseException | None) -> None:
    """An HTTP step answered ``status`` (or its streamed response ended) after ``seconds``."""
    if not motia_settings().METRICS:
        return
    executions, execution_seconds, requests, request_seconds = _http_series(
        binding, status, error is not None or status >= 500)
    executions.inc()
    execution_seconds.observe(seconds)
    requests.inc()
    request_seconds.observe(seconds)


def attempt_ended(binding: Binding, status: str, seconds: float, envelope: dict[str, Any], attempt: int,
                  *, fifo: bool) -> None:
    """A background attempt ended ``status`` (``succeeded``, ``skipped``, ``failed``: retried, ``dead``)."""
    if not motia_settings().METRICS:
        return
    executions, execution_seconds = _attempt_series(binding, status)
    executions.inc()
    execution_seconds.observe(seconds)
    if status == "failed":
        RETRIES.labels(binding.step.name, str(binding.trigger.kind)).inc()
    enqueued_at = envelope.get("enqueuedAt")
    if fifo and attempt == 1 and isinstance(enqueued_at, int | float):
        FIFO_LAG.labels(binding.step.name).observe(max(0.0, time.time() - seconds - enqueued_at))


def dead_letter_written(step: str) -> None:
    if motia_settings().METRICS:
        DEAD_LETTERS.labels(step).inc()


def cron_tick_produced(binding: Binding, scheduled_at: datetime) -> None:
    """The tick ``scheduled_at`` of a cron trigger was queued now: how late beat and the worker were."""
    if motia_settings().METRICS:
        CRON_LATENESS.labels(binding.step.name).observe(max(0.0, (timezone.now() - scheduled_at).total_seconds()))
