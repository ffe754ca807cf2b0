"""``motia.cron_tick``: turn one scheduled time of one cron trigger into one execution.

Beat sends this task for every tick; the worker inserts a :class:`CronTick` row and
queues the step through the queue runtime in the same transaction.  A second beat
sending the same tick hits the unique ``(binding, scheduled_at)`` pair and is
dropped, so each tick runs once however many beats are up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from celery import shared_task
from django.db import IntegrityError, transaction

from .. import metrics
from ..queues.names import queue_for_trigger
from ..queues.outbox import dispatch
from ..queues.publisher import build_envelope
from ..queues.unknown import hold_unknown
from ..registry import Binding, get_registry, step_named_by
from ..tracing import new_trace_id
from .expression import CronExpression
from .models import CronTick
from .sync import TICK_TASK, schedule_timezone

__all__ = ["TICK_RETENTION", "cron_tick", "produce_tick"]

logger = logging.getLogger("motia.cron")

#: Tick rows older than this (per trigger) are deleted when a newer tick is recorded;
#: a copy of a tick arriving later than this would run again.
TICK_RETENTION = timedelta(days=1)


def produce_tick(binding: Binding, expression: str, scheduled_at: datetime) -> None:
    """Queue ``binding`` for the tick at ``scheduled_at`` unless that tick was queued already."""
    if _record_tick(binding.key, expression, scheduled_at, lambda envelope: dispatch([binding], envelope)):
        metrics.cron_tick_produced(binding, scheduled_at)


def _hold_tick(key: str, expression: str, scheduled_at: datetime) -> None:
    """A tick of another release's cron trigger: recorded once here, its message held for a worker that knows it."""
    queue = queue_for_trigger(step_named_by(key), "cron", None)
    _record_tick(key, expression, scheduled_at, lambda envelope: hold_unknown(key, envelope, queue))


def _record_tick(key: str, expression: str, scheduled_at: datetime, send: Callable[[dict[str, Any]], None]) -> bool:
    """Record the tick and ``send`` its message in one transaction; ``False`` if the tick was recorded before."""
    envelope = build_envelope(None, None, trace_id=new_trace_id(), source=f"cron {expression}")
    envelope["scheduledAt"] = scheduled_at.isoformat()
    try:
        with transaction.atomic():
            CronTick.objects.create(binding=key, scheduled_at=scheduled_at, message_id=envelope["id"],
                                    trace_id=envelope["traceId"])
            send(envelope)
            CronTick.objects.filter(binding=key, scheduled_at__lt=scheduled_at - TICK_RETENTION).delete()
    except IntegrityError:
        logger.debug("tick %s of %s was already produced; dropped this copy", scheduled_at.isoformat(), key)
        return False
    return True


@shared_task(name=TICK_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def cron_tick(binding: str, expression: str, scheduled_at: str | None = None) -> None:
    """Run the tick ``scheduled_at`` (ISO 8601) of the cron trigger ``binding``.

    ``scheduled_at`` is missing when a plain django-celery-beat scheduler ran the
    entry from its minute-precision crontab: the tick is then the minute that just
    began, and seconds-precision expressions cannot be served.
    """
    if scheduled_at is not None:
        when = datetime.fromisoformat(scheduled_at)
    else:
        parsed = CronExpression.parse(expression)
        if parsed.has_seconds:
            logger.error(
                "cron trigger %s (%r) has a seconds field, but the beat that sent it has no seconds precision; run "
                "beat with --scheduler motia_django.cron.scheduler:CronScheduler", binding, expression,
            )
            return
        when = parsed.latest_at_or_before(datetime.now(schedule_timezone()))
    found = get_registry().binding(binding)
    if found is None or found.trigger.kind != "cron":
        _hold_tick(binding, expression, when)
    else:
        produce_tick(found, expression, when)
