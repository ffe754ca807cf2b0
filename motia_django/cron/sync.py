"""Keep django-celery-beat's tables in step with the cron triggers the steps declare.

Every cron binding owns one ``PeriodicTask`` named ``motia:<step>#<index>`` that
runs ``motia.cron_tick`` on the binding's queue.  Its ``CrontabSchedule`` holds the
minute-level fields in the configured time zone (what the admin shows and what a
plain ``DatabaseScheduler`` can run); its kwargs carry the full expression, which
:class:`~motia_django.cron.scheduler.CronScheduler` follows to the second.

:func:`sync_schedules` runs from ``motia_discover`` and when beat starts.  It writes
nothing when nothing changed (so running beats do not reload), updates an entry
whose expression or time zone changed, and disables the entries of triggers that
are gone.  The step files are the source of truth: an entry disabled by hand is
enabled again by the next sync while its trigger exists.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from ..queues.names import queue_for_binding
from ..registry import Binding, Registry, get_registry
from ..steps.triggers import CronTrigger
from .expression import CronExpression

__all__ = [
    "ENTRY_PREFIX", "TICK_TASK", "SyncResult", "entry_name", "schedule_timezone", "sync_for_command", "sync_schedules",
]

TICK_TASK = "motia.cron_tick"
ENTRY_PREFIX = "motia:"
_CRONTAB_FIELDS = ("minute", "hour", "day_of_month", "month_of_year", "day_of_week")
_NAME_LIMIT = PeriodicTask._meta.get_field("name").max_length or 200


@dataclass
class SyncResult:
    """Entry names by what the sync did to them."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    disabled: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return (f"{len(self.created)} created, {len(self.updated)} updated, {len(self.disabled)} disabled, "
                f"{len(self.unchanged)} unchanged")


def schedule_timezone() -> ZoneInfo:
    """The zone expressions are read in: Celery's ``timezone`` (``CELERY_TIMEZONE``), else ``TIME_ZONE``."""
    from celery import current_app

    return ZoneInfo(str(current_app.conf.timezone or settings.TIME_ZONE or "UTC"))


def entry_name(binding_key: str) -> str:
    """The stable ``PeriodicTask`` name of a cron binding (hashed when the key is too long for the column)."""
    name = ENTRY_PREFIX + binding_key
    if len(name) <= _NAME_LIMIT:
        return name
    digest = hashlib.sha256(binding_key.encode()).hexdigest()[:16]
    return f"{name[:_NAME_LIMIT - 17]}~{digest}"


#: How often a sync that lost a race with another (two beats starting together) is tried again.
_SYNC_TRIES = 3


def sync_schedules(registry: Registry | None = None) -> SyncResult:
    """Create, update or disable ``PeriodicTask`` rows so they match ``registry``'s cron triggers.

    Several beats may start at once: one that finds an entry created after it read the table (its
    insert fails the unique name) rolls back and syncs again, and then finds it in place.
    """
    registry = registry or get_registry()
    tries = 1
    while True:
        try:
            return _sync(registry)
        except (IntegrityError, ValidationError):
            if tries >= _SYNC_TRIES:
                raise
            tries += 1


def _sync(registry: Registry) -> SyncResult:
    zone = schedule_timezone()
    result = SyncResult()
    with transaction.atomic():
        wanted = set()
        # one query for the existing entries and one for the schedules, not two per cron trigger
        existing = {task.name: task for task in
                    PeriodicTask.objects.select_related("crontab").filter(name__startswith=ENTRY_PREFIX)}
        crontabs = _Crontabs(zone)
        for binding in registry.schedules:
            name = entry_name(binding.key)
            wanted.add(name)
            _sync_one(binding, name, existing.get(name), crontabs, result)
        gone = PeriodicTask.objects.filter(task=TICK_TASK, name__startswith=ENTRY_PREFIX, enabled=True)
        for task in gone.exclude(name__in=wanted):
            task.enabled = False
            task.save()
            result.disabled.append(task.name)
    return result


def sync_for_command(registry: Registry) -> str:
    """Sync for ``motia_discover`` and say what happened; a database not migrated yet is skipped, not an error."""
    if PeriodicTask._meta.db_table not in connection.introspection.table_names():
        return "cron entries not synced: django-celery-beat's tables do not exist yet (run migrate)"
    return f"cron entries synced: {sync_schedules(registry)}"


def _sync_one(binding: Binding, name: str, task: PeriodicTask | None, crontabs: _Crontabs,
              result: SyncResult) -> None:
    trigger = binding.trigger
    assert isinstance(trigger, CronTrigger)
    expression = CronExpression.parse(trigger.expression)
    crontab = dict(zip(_CRONTAB_FIELDS, expression.minute_fields, strict=True))
    wanted: dict[str, Any] = {
        "task": TICK_TASK,
        "kwargs": json.dumps({"binding": binding.key, "expression": expression.text}, sort_keys=True),
        "queue": queue_for_binding(binding),
        "description": f"Motia cron trigger #{binding.index} of step {binding.step.name!r}: {expression.text}",
        "enabled": True,
    }
    if task is None:
        PeriodicTask.objects.create(name=name, **wanted, crontab=crontabs.get(crontab))
        result.created.append(name)
        return
    schedule_changed = (
        _crontab_spec(task.crontab) != {**crontab, "timezone": str(crontabs.zone)}
        or json.loads(task.kwargs or "{}") != json.loads(wanted["kwargs"])
        or any((task.interval_id, task.solar_id, task.clocked_id))
    )
    if not schedule_changed and all(getattr(task, key) == value for key, value in wanted.items()):
        result.unchanged.append(name)
        return
    for key, value in wanted.items():
        setattr(task, key, value)
    task.args = "[]"
    if schedule_changed:
        task.crontab = crontabs.get(crontab)
        task.interval = task.solar = task.clocked = None
        task.last_run_at = None  # the old expression's last tick says nothing about the new one
    task.save()
    result.updated.append(name)


class _Crontabs:
    """The shared ``CrontabSchedule`` rows of one time zone, read once, created when missing."""

    def __init__(self, zone: ZoneInfo) -> None:
        self.zone = zone
        self._rows: dict[tuple[str, ...], CrontabSchedule] = {}
        for row in CrontabSchedule.objects.filter(timezone=zone).order_by("-id"):
            self._rows[tuple(getattr(row, name) for name in _CRONTAB_FIELDS)] = row  # the oldest wins

    def get(self, fields: dict[str, str]) -> CrontabSchedule:
        key = tuple(fields[name] for name in _CRONTAB_FIELDS)
        found = self._rows.get(key)
        if found is None:
            found = self._rows[key] = CrontabSchedule.objects.create(**fields, timezone=self.zone)
        return found


def _crontab_spec(crontab: CrontabSchedule | None) -> dict[str, str] | None:
    if crontab is None:
        return None
    return {**{name: getattr(crontab, name) for name in _CRONTAB_FIELDS}, "timezone": str(crontab.timezone)}
