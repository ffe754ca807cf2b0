"""The checks an operator or a load balancer asks for, each bounded by a timeout.

Every check runs in a thread of its own (with its own database connection, closed
afterwards) and counts as failed when it has not answered within the timeout, so a
database or broker that hangs instead of refusing cannot hang the caller.  Results
carry a human detail for ``motia_health``; the endpoints show only names and statuses.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max, Min
from django.utils import timezone

from ..cron.expression import CronExpression
from ..cron.models import CronTick
from ..cron.sync import schedule_timezone
from ..models import DeadLetter, OutboxMessage
from ..queues.app import celery_app
from ..registry import get_registry

__all__ = ["CHECKS", "READINESS", "CheckResult", "Status", "Thresholds", "overall", "run_checks"]


class Status(enum.StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    #: the figure the status was judged on (rows, seconds, workers), when there is one
    value: float | None = None


@dataclass(frozen=True)
class Thresholds:
    """Limits past which a check warns or fails; ``motia_health`` takes each as an option."""

    #: seconds each check may take
    timeout: float = 2.0
    outbox_warn: int = 100
    outbox_fail: int = 10_000
    #: age in seconds of the oldest outbox row (the relay should send rows within a few sweeps)
    outbox_age_warn: float = 60.0
    outbox_age_fail: float = 600.0
    #: dead letters stored; 0 turns the limit off
    dead_letters_warn: int = 1
    dead_letters_fail: int = 0
    #: seconds past a cron tick's scheduled time without a tick recorded
    beat_lateness_fail: float = 120.0
    #: workers that must answer a ping
    workers_min: int = 1


Check = Callable[[Thresholds], CheckResult]


def database(limits: Thresholds) -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return CheckResult("database", Status.OK, f"{connection.vendor} answers")


def migrations(limits: Thresholds) -> CheckResult:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        names = ", ".join(f"{m.app_label}.{m.name}" for m, _ in plan[:5])
        return CheckResult("migrations", Status.FAIL, f"{len(plan)} unapplied: {names}", len(plan))
    return CheckResult("migrations", Status.OK, "all applied", 0)


def broker(limits: Thresholds) -> CheckResult:
    app = celery_app()
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=0, timeout=math.ceil(limits.timeout))
        transport = conn.transport_cls
    return CheckResult("broker", Status.OK, f"{transport} answers")


def outbox(limits: Thresholds) -> CheckResult:
    figures = OutboxMessage.objects.aggregate(oldest=Min("created_at"))
    rows = OutboxMessage.objects.count()
    age = (timezone.now() - figures["oldest"]).total_seconds() if figures["oldest"] else 0.0
    detail = f"{rows} waiting, oldest {age:.0f}s"
    if rows >= limits.outbox_fail or age >= limits.outbox_age_fail:
        return CheckResult("outbox", Status.FAIL, detail, rows)
    if rows >= limits.outbox_warn or age >= limits.outbox_age_warn:
        return CheckResult("outbox", Status.WARN, detail, rows)
    return CheckResult("outbox", Status.OK, detail, rows)


def dead_letters(limits: Thresholds) -> CheckResult:
    rows = DeadLetter.objects.count()
    detail = f"{rows} stored (manage.py motia_dlq)"
    if limits.dead_letters_fail and rows >= limits.dead_letters_fail:
        return CheckResult("dead_letters", Status.FAIL, detail, rows)
    if limits.dead_letters_warn and rows >= limits.dead_letters_warn:
        return CheckResult("dead_letters", Status.WARN, detail, rows)
    return CheckResult("dead_letters", Status.OK, detail, rows)


def beat(limits: Thresholds) -> CheckResult:
    """Every cron trigger's latest due tick (older than the allowed lateness) was recorded by a worker."""
    schedules = get_registry().schedules
    if not schedules:
        return CheckResult("beat", Status.OK, "no cron triggers")
    latest = dict(CronTick.objects.filter(binding__in=[b.key for b in schedules])
                  .values("binding").annotate(last=Max("scheduled_at")).values_list("binding", "last"))
    now = datetime.now(schedule_timezone())
    late: list[tuple[str, float]] = []
    for binding in schedules:
        due = CronExpression.parse(binding.trigger.expression).latest_at_or_before(  # type: ignore[union-attr]
            now - timedelta(seconds=limits.beat_lateness_fail))
        last = latest.get(binding.key)
        if last is None or last < due:
            late.append((binding.step.name, (now - due).total_seconds()))
    if not latest:
        return CheckResult("beat", Status.WARN, f"no tick recorded yet for {len(schedules)} cron trigger(s)")
    if late:
        names = ", ".join(sorted({name for name, _ in late})[:5])
        worst = max(seconds for _, seconds in late)
        return CheckResult("beat", Status.FAIL, f"{len(late)} trigger(s) missed a tick ({names}); "
                           f"the oldest was due {worst:.0f}s ago", worst)
    age = (now - max(latest.values())).total_seconds()
    return CheckResult("beat", Status.OK, f"{len(schedules)} trigger(s) on time; last tick {age:.0f}s ago", age)


def workers(limits: Thresholds) -> CheckResult:
    replies = celery_app().control.ping(timeout=limits.timeout / 2) or []
    names = sorted(name for reply in replies for name in reply)
    detail = f"{len(names)} answered ping" + (f": {', '.join(names[:5])}" if names else "")
    status = Status.OK if len(names) >= limits.workers_min else Status.FAIL
    return CheckResult("workers", status, detail, len(names))


#: Every check, in the order they are reported.
CHECKS: dict[str, Check] = {
    "database": database, "migrations": migrations, "broker": broker, "outbox": outbox,
    "dead_letters": dead_letters, "beat": beat, "workers": workers,
}
#: What the readiness endpoint asks: can this process serve requests and enqueue.
READINESS = ("database", "broker")

_pool = ThreadPoolExecutor(max_workers=len(CHECKS), thread_name_prefix="motia-health")


def _own_connection(check: Check, limits: Thresholds) -> CheckResult:
    try:
        return check(limits)
    finally:
        connections.close_all()


def run_checks(names: Iterable[str], limits: Thresholds) -> list[CheckResult]:
    """Run the named checks side by side; each that raises or outlasts ``limits.timeout`` fails.

    A second of grace lets a check that keeps to the timeout itself (a broker connection, a
    ping that polls once a second) report what it found rather than be cut off.
    """
    futures = [(name, _pool.submit(_own_connection, CHECKS[name], limits)) for name in names]
    deadline = time.monotonic() + limits.timeout + 1.0
    results: list[CheckResult] = []
    for name, future in futures:
        remaining = max(0.0, deadline - time.monotonic())
        try:
            results.append(future.result(timeout=remaining))
        except FutureTimeout:
            results.append(CheckResult(name, Status.FAIL, f"no answer within {limits.timeout}s"))
        except Exception as exc:
            results.append(CheckResult(name, Status.FAIL, f"{type(exc).__name__}: {exc}"))
    return results


def overall(results: Iterable[CheckResult]) -> Status:
    statuses = {result.status for result in results}
    return Status.FAIL if Status.FAIL in statuses else Status.WARN if Status.WARN in statuses else Status.OK
