"""Figures read at scrape time: queue depth from the broker, outbox, FIFO and dead-letter backlog from the database.

Both reads run in a thread of their own and are left out of the scrape when they take
longer than ``METRICS_SCRAPE_TIMEOUT``; ``motia_scrape_source_up`` says which answered.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from django.db import connections
from django.db.models import Min
from django.utils import timezone
from kombu.exceptions import ChannelError
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ..conf import motia_settings
from ..models import DeadLetter, FifoMessage, OutboxMessage
from ..queues.app import celery_app
from ..queues.names import queues_of
from ..registry import get_registry

__all__ = ["RuntimeCollector"]

_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="motia-metrics")


def queue_depths(timeout: float) -> list[Metric]:
    """Messages waiting on each step queue (a queue the broker does not know yet counts 0)."""
    depth = GaugeMetricFamily("motia_queue_depth", "Messages waiting on a step queue in the broker.", labels=["queue"])
    with celery_app().connection_for_read() as conn:
        conn.ensure_connection(max_retries=0, timeout=math.ceil(timeout))
        channel = conn.default_channel
        for queue in queues_of(get_registry().background_bindings):
            depth.add_metric([queue], _waiting(channel, queue))
    return [depth]


def _waiting(channel: Any, queue: str) -> int:
    """Kombu's virtual transports (Redis, SQS, the dev broker) count directly: a passive declare of a
    Redis queue misses keys under ``global_keyprefix``; AMQP brokers answer the declare."""
    if hasattr(channel, "_size"):
        return int(channel._size(queue))
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except ChannelError:  # the broker has not seen the queue yet
        return 0


def backlogs(timeout: float) -> list[Metric]:
    try:
        oldest = OutboxMessage.objects.aggregate(oldest=Min("created_at"))["oldest"]
        age = (timezone.now() - oldest).total_seconds() if oldest else 0.0
        return [
            GaugeMetricFamily("motia_outbox_backlog", "Messages in the outbox, not yet taken by the broker.",
                              value=OutboxMessage.objects.count()),
            GaugeMetricFamily("motia_outbox_oldest_age_seconds", "Age of the oldest outbox message.", value=age),
            GaugeMetricFamily("motia_fifo_backlog", "FIFO messages waiting for their turn.",
                              value=FifoMessage.objects.count()),
            GaugeMetricFamily("motia_dead_letters_stored", "Dead letters kept for replay.",
                              value=DeadLetter.objects.count()),
        ]
    finally:
        connections.close_all()


_SOURCES: dict[str, Callable[[float], list[Metric]]] = {"broker": queue_depths, "database": backlogs}


class RuntimeCollector(Collector):
    """Collects the broker and database figures at each scrape, each bounded by the scrape timeout."""

    def collect(self) -> Iterator[Metric]:
        timeout = motia_settings().METRICS_SCRAPE_TIMEOUT
        up = GaugeMetricFamily("motia_scrape_source_up", "Whether a source answered this scrape in time.",
                               labels=["source"])
        futures = {name: _pool.submit(read, timeout) for name, read in _SOURCES.items()}
        for name, future in futures.items():
            try:
                yield from future.result(timeout=timeout)
            except (FutureTimeout, Exception):
                up.add_metric([name], 0)
            else:
                up.add_metric([name], 1)
        yield up
