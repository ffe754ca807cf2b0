"""Queues: depth and consumers per step queue (asked of the broker), throughput, dead letters."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..models import DeadLetter, Execution, OutboxMessage
from ..queues.app import celery_app
from ..queues.names import queue_for_binding
from ..registry import get_registry
from .pages import page, staff_with

__all__ = ["QUEUE_PERMISSIONS", "broker_queue_stats", "dead_letters_by_step", "queue_rows", "queues"]

logger = logging.getLogger("motia.workbench")

#: What the queues show: throughput and failures (executions) and dead letters per step.
QUEUE_PERMISSIONS = ("motia_django.view_execution", "motia_django.view_deadletter")


def broker_queue_stats(names: list[str]) -> tuple[dict[str, tuple[int, int | None]], str | None]:
    """``{queue: (messages, consumers)}`` as the broker reports them, or an error text.

    AMQP brokers answer a passive declare with both counts; kombu's virtual
    transports (Redis, filesystem) know the length of a queue but not its
    consumers (``None``: the workers' own answers fill that in).
    """
    stats: dict[str, tuple[int, int | None]] = {}
    try:
        with celery_app().connection_for_read() as connection:
            connection.ensure_connection(max_retries=1)
            for name in names:
                channel: Any = connection.channel()
                try:
                    if hasattr(channel, "_size"):
                        stats[name] = (int(channel._size(name)), None)
                    else:
                        _, messages, consumers = channel.queue_declare(queue=name, passive=True)
                        stats[name] = (int(messages), int(consumers))
                except Exception:  # never declared: nothing was ever sent to it
                    stats[name] = (0, 0)
                finally:
                    channel.close()
    except Exception as exc:
        logger.warning("could not read queue depths from the broker: %s", exc)
        return stats, f"broker unreachable: {exc}"
    return stats, None


def _workers_by_queue(timeout: float = 1.0) -> dict[str, list[str]]:
    """Workers consuming each queue, from Celery's remote control (empty when none answer)."""
    try:
        replies = celery_app().control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:
        logger.warning("could not ask workers for their queues: %s", exc)
        return {}
    consumers: dict[str, list[str]] = {}
    for worker, queues in replies.items():
        for queue in queues or []:
            consumers.setdefault(queue["name"], []).append(worker)
    return consumers


def queue_rows() -> tuple[list[dict[str, Any]], str | None]:
    """Every step queue with its depth, consumers, workers and per-subscriber throughput; and the broker's error."""
    registry = get_registry()
    bindings = registry.background_bindings
    names = sorted({queue_for_binding(b) for b in bindings})
    depths, broker_error = broker_queue_stats(names)
    workers = _workers_by_queue()
    now = timezone.now()
    recent = Execution.objects.filter(started_at__gte=now - timedelta(minutes=5)).exclude(trigger_type="http")
    throughput: dict[str, Any] = {
        row["step"]: row
        for row in recent.values("step").annotate(
            last_minute=Count("id", filter=Q(started_at__gte=now - timedelta(minutes=1))),
            last_five=Count("id"), failures=Count("id", filter=Q(status__in=("failed", "dead"))),
        )
    }
    dead = dead_letters_by_step()
    rows: list[dict[str, Any]] = []
    for name in names:
        subscribers = [b for b in bindings if queue_for_binding(b) == name]
        messages, consumers = depths.get(name, (None, None))
        if consumers is None and name in workers:
            consumers = len(workers[name])
        rows.append({
            "name": name, "messages": messages, "consumers": consumers, "workers": workers.get(name, []),
            "steps": [{
                "name": b.step.name, "trigger": str(b.trigger.kind),
                "per_minute": throughput.get(b.step.name, {}).get("last_minute", 0),
                "per_five": throughput.get(b.step.name, {}).get("last_five", 0),
                "failures": throughput.get(b.step.name, {}).get("failures", 0),
                "dead_letters": dead.get(b.step.name, 0),
            } for b in subscribers],
        })
    return rows, broker_error


def dead_letters_by_step() -> dict[str, int]:
    return dict(DeadLetter.objects.values_list("step").annotate(n=Count("id")))


@staff_with(*QUEUE_PERMISSIONS)
def queues(request: HttpRequest) -> HttpResponse:
    rows, broker_error = queue_rows()
    return page(request, "motia_django/workbench/queues.html", "queues", "Queues", {
        "queues": rows, "broker_error": broker_error, "outbox": OutboxMessage.objects.count(),
        "dead_total": sum(dead_letters_by_step().values()),
    })
