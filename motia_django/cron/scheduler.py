"""Celery beat scheduler for Motia cron triggers: django-celery-beat's, to the second.

``celery -A project beat --scheduler motia_django.cron.scheduler:CronScheduler``
(or ``CELERY_BEAT_SCHEDULER``) runs every django-celery-beat entry as usual.
Entries of cron triggers (task ``motia.cron_tick``) are timed from the full
expression in their kwargs instead of their minute-level ``CrontabSchedule``:
seconds and year fields count, and each message carries the tick it is for.

Missed ticks: when an entry finds several ticks in the past (beat was down, or
stalled), only the latest of them is sent, once; the rest are skipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from celery import Celery, current_app
from celery.beat import Service
from celery.schedules import schedstate
from celery.signals import beat_init
from celery.utils.time import maybe_make_aware
from croniter import CroniterBadDateError
from django.db.models import QuerySet
from django_celery_beat.models import PeriodicTask
from django_celery_beat.schedulers import DatabaseScheduler, ModelEntry
from django_celery_beat.utils import NEVER_CHECK_TIMEOUT

from ..registry import get_registry
from .expression import CronExpression
from .sync import sync_schedules
from .tasks import cron_tick

__all__ = ["CronEntry", "CronSchedule", "CronScheduler"]

logger = logging.getLogger("motia.cron")

#: How long a disabled entry waits before it looks at its row again (django-celery-beat's value).
DISABLED_RECHECK = 5.0


@dataclass(frozen=True)
class CronSchedule:
    """A cron expression read in one time zone (what beat calls an entry's ``schedule``)."""

    expression: CronExpression
    zone: tzinfo

    def now(self) -> datetime:
        return datetime.now(self.zone)

    def __str__(self) -> str:
        return f"<cron: {self.expression.text} {self.zone}>"


class CronEntry(ModelEntry):  # type: ignore[misc]
    """The beat entry of one cron trigger: due on the second, sending the tick it is due for.

    ``last_run_at`` is the last tick sent (not the time it was sent), so ticks
    follow the expression exactly and a slow beat loop cannot shift them.
    """

    def __init__(self, model: PeriodicTask, app: Celery | None = None) -> None:
        self.app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        self.model = model
        self.name = model.name
        self.task = model.task
        try:
            spec = json.loads(model.kwargs or "{}")
            expression = CronExpression.parse(spec["expression"])
            binding = str(spec["binding"])
        except (KeyError, TypeError) as exc:
            raise ValueError(f"entry {model.name!r} has no cron binding and expression in its kwargs") from exc
        zone = model.crontab.timezone if model.crontab is not None else self.app.timezone
        self.schedule = CronSchedule(expression, zone)
        self.args: list[Any] = []
        self._base_kwargs = {"binding": binding, "expression": expression.text}
        self.options = {
            key: getattr(model, key) for key in ("queue", "exchange", "routing_key", "priority")
            if getattr(model, key) is not None
        }
        self.options["headers"] = {**json.loads(model.headers or "{}"), "periodic_task_name": model.name}
        self.total_run_count = model.total_run_count
        self.last_run_at = maybe_make_aware(model.last_run_at or model.date_changed or self.schedule.now())
        self._aim(self._tick_after(self.last_run_at.astimezone(zone)))

    def _tick_after(self, moment: datetime) -> datetime | None:
        """The next tick, or ``None`` once the expression has none left (its years are over)."""
        try:
            return self.schedule.expression.next_after(moment)
        except CroniterBadDateError:
            return None

    def _aim(self, tick: datetime | None) -> None:
        """Make ``tick`` the scheduled time this entry sends."""
        self.tick = tick
        self.kwargs = {**self._base_kwargs, "scheduled_at": tick.isoformat() if tick else None}

    def is_due(self) -> schedstate:
        if not self.model.enabled:
            return schedstate(False, DISABLED_RECHECK)
        if self.tick is None:
            return schedstate(False, NEVER_CHECK_TIMEOUT)
        now = self.schedule.now()
        if self.tick > now:
            return schedstate(False, (self.tick - now).total_seconds())
        self._aim(self.schedule.expression.latest_at_or_before(now))  # several ticks passed: only the latest runs
        upcoming = self._tick_after(now)
        return schedstate(True, (upcoming - now).total_seconds() if upcoming else NEVER_CHECK_TIMEOUT)

    def __next__(self) -> CronEntry:
        self.model.last_run_at = self.tick
        self.model.total_run_count += 1
        self.model.no_changes = True
        return type(self)(self.model, app=self.app)


class CronScheduler(DatabaseScheduler):  # type: ignore[misc]
    """django-celery-beat's ``DatabaseScheduler`` with seconds-precision Motia cron entries."""

    def setup_schedule(self) -> None:
        """Sync the cron entries before the first read, so this beat starts on the current steps."""
        logger.info("cron entries synced: %s", sync_schedules())
        super().setup_schedule()

    def enabled_models_qs(self) -> QuerySet[PeriodicTask]:
        """Also the cron entries django-celery-beat leaves out when their hour is over 2 h away.

        A tick missed while beat was down must run when beat returns, not when
        the entry's hour comes round again.
        """
        queryset: QuerySet[PeriodicTask] = super().enabled_models_qs()
        missed: QuerySet[PeriodicTask] = self.Model.objects.enabled().filter(task=cron_tick.name)
        return queryset | missed

    def all_as_schedule(self) -> dict[str, ModelEntry]:
        entries: dict[str, ModelEntry] = {}
        for model in self.enabled_models():
            try:
                if model.task == cron_tick.name:
                    entries[model.name] = CronEntry(model, app=self.app)
                else:
                    entries[model.name] = self.Entry(model, app=self.app)
            except ValueError as exc:
                logger.error("beat entry %s is skipped: %s", model.name, exc)
        return entries


@beat_init.connect
def warn_about_other_schedulers(sender: Service, **kwargs: Any) -> None:
    """A beat on another scheduler cannot time cron triggers to the second: sync what it can run and say so."""
    scheduler = sender.scheduler
    if isinstance(scheduler, CronScheduler) or not get_registry().schedules:
        return
    if isinstance(scheduler, DatabaseScheduler):
        sync_schedules()
    logger.warning(
        "this beat runs %s: Motia cron triggers need --scheduler motia_django.cron.scheduler:CronScheduler "
        "(a plain DatabaseScheduler runs 5-field expressions to the minute and no seconds-precision ones; "
        "other schedulers run none)",
        type(scheduler).__name__,
    )
