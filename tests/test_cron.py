"""Cron triggers on django-celery-beat: entry sync, tick timing, one run per tick, missed ticks.

The live tests run real ``celery beat`` (CronScheduler) and worker processes on
the steps of ``tests/app_steps/cron`` (every 1-2 s, one every minute).
"""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from celery import current_app
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler

from motia import cron, step
from motia_django.cron.models import CronTick
from motia_django.cron.scheduler import CronEntry, CronScheduler
from motia_django.cron.sync import entry_name, schedule_timezone, sync_schedules
from motia_django.cron.tasks import cron_tick
from motia_django.models import DeadLetter, Execution, OutboxMessage, StateEntry
from motia_django.registry import Registry

from .conftest import Process, child_env, free_port, launch, wait_until

SCHEDULER = "motia_django.cron.scheduler:CronScheduler"
CRON_STEPS = ["cron-conditional", "cron-every-minute", "cron-every-second", "cron-failing", "cron-seven-fields"]
#: How late a tick's first execution may start, in seconds: enough for a loaded 2-core machine,
#: far less than a missed or doubled tick would show.
LATENESS = 3.0
#: Execution records are written in batches every half second: time for a started one to appear.
RECORDED = 1.0

Worker = Callable[..., Process]
Beat = Callable[..., Process]


@pytest.fixture
def start_beat(transactional_db: None, tmp_path: Path, broker_url: str) -> Iterator[Beat]:
    """Start real ``celery -A project beat`` processes; all are stopped (by PID) after the test."""
    started: list[Process] = []

    def start(name: str = "beat1", scheduler: str = SCHEDULER, ready: str = "cron entries synced") -> Process:
        args = [sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO", "--scheduler",
                scheduler]
        proc = launch(args, child_env(CELERY_BROKER_URL=broker_url), tmp_path / f"{name}.log", ready, name)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


# -- reading ticks back -----------------------------------------------------------------------------


def ticks(step_name: str, after: datetime | None = None) -> list[CronTick]:
    rows = CronTick.objects.filter(binding=f"{step_name}#cron").order_by("scheduled_at")
    return list(rows.filter(scheduled_at__gt=after) if after else rows)


def first_attempts(step_name: str) -> dict[str, Execution]:
    """The first execution of each tick, by message id."""
    rows = Execution.objects.filter(binding=f"{step_name}#cron", attempt=1)
    return {row.message_id: row for row in rows}


def run_ticks(step_name: str, after: datetime | None = None) -> list[tuple[CronTick, Execution]]:
    """Ticks whose first execution started, oldest first."""
    runs = first_attempts(step_name)
    return [(tick, runs[tick.message_id]) for tick in ticks(step_name, after) if tick.message_id in runs]


def assert_on_time(step_name: str, period: int, after: datetime | None = None) -> None:
    """Ticks on whole multiples of ``period``, none missing, each started within ``LATENESS`` of its time.

    Only ticks over ``LATENESS + RECORDED`` old count: any of those without a recorded start is late already.
    """
    cutoff = timezone.now() - timedelta(seconds=LATENESS + RECORDED)
    rows = [tick for tick in ticks(step_name, after) if tick.scheduled_at <= cutoff]
    assert len(rows) >= 2, rows
    times = [tick.scheduled_at for tick in rows]
    assert all(t.microsecond == 0 and t.second % period == 0 for t in times), times
    assert {(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)} == {period}, times
    runs = first_attempts(step_name)
    delays = [(runs[t.message_id].started_at - t.scheduled_at).total_seconds() if t.message_id in runs else None
              for t in rows]
    assert all(d is not None and 0 <= d < LATENESS for d in delays), delays


# -- sync --------------------------------------------------------------------------------------------


def _noop_registry(*triggers: tuple[str, str]) -> Registry:
    async def noop(input: Any, ctx: Any) -> None:
        return None

    return Registry([step({"name": name, "triggers": [cron(expression)]}, noop) for name, expression in triggers])


def test_sync_creates_one_entry_per_trigger_and_is_idempotent(db: None) -> None:
    result = sync_schedules()
    assert sorted(result.created) == [f"motia:{name}#cron" for name in CRON_STEPS]
    entries = {t.name: t for t in PeriodicTask.objects.select_related("crontab")}
    zone = str(schedule_timezone())
    assert zone == (getattr(settings, "CELERY_TIMEZONE", None) or settings.TIME_ZONE)

    minute = entries["motia:cron-every-minute#cron"]
    assert (minute.task, minute.queue, minute.enabled) == ("motia.cron_tick", "motia._cron", True)
    assert json.loads(minute.kwargs) == {"binding": "cron-every-minute#cron", "expression": "* * * * *"}
    assert str(minute.crontab).startswith("* * * * * ") and str(minute.crontab.timezone) == zone

    seven = entries["motia:cron-seven-fields#cron"]
    assert json.loads(seven.kwargs)["expression"] == "*/2 * * * * * 2024-2099"
    assert (seven.crontab.minute, seven.crontab.hour, seven.crontab.day_of_week) == ("*", "*", "*")

    changed = PeriodicTasks.last_change()
    again = sync_schedules()
    assert again.created == again.updated == again.disabled == []
    assert sorted(again.unchanged) == sorted(entries)
    assert PeriodicTasks.last_change() == changed, "an idempotent sync must not make running beats reload"
    assert PeriodicTask.objects.count() == len(CRON_STEPS) and CrontabSchedule.objects.count() == 1


def test_sync_updates_a_changed_expression_and_disables_removed_triggers(db: None) -> None:
    sync_schedules()
    PeriodicTask.objects.filter(name="motia:cron-every-second#cron").update(last_run_at=timezone.now())

    result = sync_schedules(_noop_registry(("cron-every-second", "0 30 9 * * 1-5")))
    assert result.updated == ["motia:cron-every-second#cron"]
    assert sorted(result.disabled) == sorted(f"motia:{n}#cron" for n in CRON_STEPS if n != "cron-every-second")
    task = PeriodicTask.objects.select_related("crontab").get(name="motia:cron-every-second#cron")
    assert json.loads(task.kwargs)["expression"] == "0 30 9 * * 1-5"
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "9", "1-5")
    assert task.last_run_at is None and task.enabled
    assert not PeriodicTask.objects.filter(name="motia:cron-failing#cron", enabled=True).exists()

    assert sync_schedules(_noop_registry(("cron-every-second", "0 30 9 * * 1-5"))).disabled == []
    restored = sync_schedules()
    assert len(restored.updated) == len(CRON_STEPS)
    assert PeriodicTask.objects.filter(enabled=True).count() == len(CRON_STEPS)


def test_a_sync_that_loses_a_race_to_create_an_entry_gives_way(db: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two beats starting together on new triggers: one creates an entry the other read as missing."""
    from motia_django.cron import sync

    sync_schedules()  # the other beat, a moment earlier
    real = sync._sync_one
    seen: list[str] = []

    def stale(binding: Any, name: str, task: Any, crontabs: Any, result: Any) -> None:
        seen.append(name)
        real(binding, name, None if len(seen) == 1 else task, crontabs, result)  # read before it committed

    monkeypatch.setattr(sync, "_sync_one", stale)
    result = sync_schedules()
    assert result.created == [] and sorted(result.unchanged) == [f"motia:{name}#cron" for name in CRON_STEPS]
    assert PeriodicTask.objects.count() == len(CRON_STEPS)


def test_workers_know_the_tick_task() -> None:
    assert "motia.cron_tick" in current_app.tasks


def test_entry_names_are_stable_and_fit_the_column() -> None:
    assert entry_name("daily#0") == "motia:daily#0"
    long = entry_name("x" * 300 + "#0")
    assert len(long) == 200 and long == entry_name("x" * 300 + "#0") != entry_name("x" * 300 + "#1")


def test_motia_discover_syncs_unless_told_not_to(db: None) -> None:
    out = io.StringIO()
    call_command("motia_discover", "--no-sync", stdout=out)
    assert not PeriodicTask.objects.exists() and "cron entries" not in out.getvalue()
    call_command("motia_discover", stdout=out)
    assert f"cron entries synced: {len(CRON_STEPS)} created" in out.getvalue()
    err = io.StringIO()
    call_command("motia_discover", "--json", stdout=io.StringIO(), stderr=err)
    assert f"0 disabled, {len(CRON_STEPS)} unchanged" in err.getvalue()


# -- beat entries, without processes -----------------------------------------------------------------


def _entry(name: str, **changes: Any) -> CronEntry:
    PeriodicTask.objects.filter(name=f"motia:{name}#cron").update(**changes)
    return CronEntry(PeriodicTask.objects.select_related("crontab").get(name=f"motia:{name}#cron"))


def test_entry_sends_only_the_latest_of_several_missed_ticks(db: None) -> None:
    sync_schedules()
    entry = _entry("cron-every-second", last_run_at=timezone.now() - timedelta(minutes=10))
    before = datetime.now(entry.schedule.zone)
    due, _ = entry.is_due()
    now = datetime.now(entry.schedule.zone)
    # the latest due second, not any of the ten minutes of older ones
    assert due and before.replace(microsecond=0) <= entry.tick <= now
    assert entry.kwargs == {"binding": "cron-every-second#cron", "expression": "*/1 * * * * *",
                            "scheduled_at": entry.tick.isoformat()}
    following = next(entry)
    assert following.tick == entry.tick + timedelta(seconds=1)
    assert following.model.last_run_at == entry.tick


def test_entry_waits_for_its_tick_in_the_entry_zone(db: None) -> None:
    wait_until(lambda: timezone.now().second < 50, 15, what="room before the next minute")
    sync_schedules()
    entry = _entry("cron-every-minute", last_run_at=timezone.now())
    due, wait = entry.is_due()
    assert not due and 0 < wait <= 60 and entry.tick.second == 0

    sync_schedules(_noop_registry(("cron-every-minute", "0 45 9 * * *")))
    kathmandu = CrontabSchedule.objects.create(minute="45", hour="9", timezone=ZoneInfo("Asia/Kathmandu"))
    entry = _entry("cron-every-minute", crontab=kathmandu)
    assert (entry.tick.hour, entry.tick.minute) == (9, 45)
    assert entry.tick.utcoffset() == timedelta(hours=5, minutes=45)


def test_an_expression_whose_years_are_over_is_never_due(db: None) -> None:
    sync_schedules(_noop_registry(("cron-every-minute", "0 0 0 1 1 * 2024")))
    entry = _entry("cron-every-minute", last_run_at=timezone.now() - timedelta(days=1000))
    assert entry.tick is None and not entry.is_due().is_due


def test_cron_entries_are_read_whatever_their_hour(db: None) -> None:
    # an hour the plain scheduler leaves out: not within 2 h of now, and not 4 (which it always reads)
    far = next(h for h in ((timezone.localtime().hour + offset) % 24 for offset in (12, 11)) if h != 4)
    sync_schedules(_noop_registry(("cron-every-minute", f"0 0 {far} * * *")))
    plain = DatabaseScheduler(app=current_app, lazy=True)
    assert "motia:cron-every-minute#cron" not in {m.name for m in plain.enabled_models()}
    ours = CronScheduler(app=current_app, lazy=True)
    assert "motia:cron-every-minute#cron" in {m.name for m in ours.enabled_models()}


def test_tick_from_a_minute_precision_beat_is_the_current_minute(db: None, caplog: pytest.LogCaptureFixture) -> None:
    wait_until(lambda: timezone.now().second < 50, 15, what="both copies inside one minute")
    cron_tick.run("cron-every-minute#cron", "* * * * *")
    cron_tick.run("cron-every-minute#cron", "* * * * *")
    [tick] = ticks("cron-every-minute")
    now = timezone.now()
    assert tick.scheduled_at.second == 0 and timedelta(0) <= now - tick.scheduled_at < timedelta(minutes=1)
    assert OutboxMessage.objects.filter(binding="cron-every-minute#cron").count() == 1

    with caplog.at_level(logging.ERROR, logger="motia.cron"):
        cron_tick.run("cron-every-second#cron", "*/1 * * * * *")
    assert not ticks("cron-every-second") and "CronScheduler" in caplog.text


def test_a_tick_for_an_unknown_trigger_waits_for_a_worker_that_knows_it(db: None,
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    """Another release's trigger (tests/test_rolling_deploy.py): the tick is kept, never dropped."""
    with caplog.at_level(logging.WARNING, logger="motia.queues"):
        cron_tick.run("gone#cron", "* * * * *", "2030-01-01T00:00:00+00:00")
    assert CronTick.objects.filter(binding="gone#cron").count() == 1
    assert OutboxMessage.objects.filter(binding="gone#cron").count() == 1 and "gone#cron" in caplog.text


# -- real beat and worker processes ------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.services
def test_six_and_seven_field_ticks_fire_on_time(start_worker: Worker, start_beat: Beat) -> None:
    start_worker()
    start_beat()
    wait_until(lambda: len(run_ticks("cron-every-second")) >= 9 and len(run_ticks("cron-seven-fields")) >= 5, 60,
               what="9 and 5 ticks")
    assert_on_time("cron-every-second", 1)
    assert_on_time("cron-seven-fields", 2)

    seen = dict(StateEntry.objects.filter(group="cron-seen").values_list("key", "value"))
    produced = {t.trace_id for t in ticks("cron-seven-fields")}
    assert len(seen) >= 4 and set(seen) <= produced
    assert all(v == {"input": None, "type": "cron", "expression": "*/2 * * * * * 2024-2099", "is_cron": True,
                     "data": None} for v in seen.values())
    assert len({t.trace_id for t in ticks("cron-every-second")}) == len(ticks("cron-every-second"))


@pytest.mark.slow
@pytest.mark.services
def test_false_condition_skips_and_failures_retry_then_dead_letter(start_worker: Worker, start_beat: Beat) -> None:
    start_worker()
    start_beat()
    wait_until(lambda: Execution.objects.filter(step="cron-conditional", status="skipped").count() >= 3, 30,
               what="skipped ticks")
    assert not Execution.objects.filter(step="cron-conditional").exclude(status__in=["skipped", "running"]).exists()

    wait_until(lambda: DeadLetter.objects.filter(step="cron-failing").exists(), 30, what="a dead letter")
    letter = DeadLetter.objects.filter(step="cron-failing").order_by("failed_at").first()
    assert letter is not None
    assert (letter.attempts, letter.error_type, letter.topic) == (2, "RuntimeError", "")
    tick = CronTick.objects.get(message_id=letter.message_id)
    assert datetime.fromisoformat(letter.envelope["scheduledAt"]) == tick.scheduled_at
    attempts = list(Execution.objects.filter(message_id=letter.message_id).order_by("attempt"))
    assert [a.status for a in attempts] == ["failed", "dead"]
    # at least the 0.2 s backoff; the upper bound only allows for a loaded machine
    assert 0.15 <= (attempts[1].started_at - attempts[0].started_at).total_seconds() < 4.5


@pytest.mark.slow
@pytest.mark.services
def test_two_beats_run_each_tick_once(start_worker: Worker, start_beat: Beat) -> None:
    start_worker("w1")
    start_worker("w2")
    beats = [start_beat("beat1"), start_beat("beat2")]
    both_up = timezone.now()
    wait_until(lambda: len(run_ticks("cron-every-second", both_up)) >= 8, 40, what="8 ticks with both beats up")
    assert PeriodicTask.objects.filter(name__startswith="motia:").count() == len(CRON_STEPS), "both beats synced"
    sent = [beat.output().count("Sending due task motia:cron-every-second#cron") for beat in beats]
    assert min(sent) >= 5, sent
    assert_on_time("cron-every-second", 1, both_up)
    runs = Counter(Execution.objects.filter(binding="cron-every-second#cron", status="succeeded")
                   .values_list("message_id", flat=True))
    assert set(runs.values()) == {1}, "a tick ran twice"
    assert set(runs) <= {t.message_id for t in ticks("cron-every-second")}, "a run without its one tick row"


@pytest.mark.slow
@pytest.mark.services
def test_running_beat_follows_changed_and_removed_triggers(start_worker: Worker, start_beat: Beat) -> None:
    start_worker()
    start_beat()
    wait_until(lambda: len(run_ticks("cron-seven-fields")) >= 1, 30, what="the first ticks")

    result = sync_schedules(_noop_registry(("cron-every-second", "*/3 * * * * *")))
    assert result.updated == ["motia:cron-every-second#cron"] and len(result.disabled) == len(CRON_STEPS) - 1
    settled = timezone.now() + timedelta(seconds=5)  # time for the running beat to reload its entries
    wait_until(lambda: len(run_ticks("cron-every-second", settled)) >= 4, 45, what="4 ticks on the new schedule")
    assert_on_time("cron-every-second", 3, settled)
    assert ticks("cron-seven-fields", settled) == [] and ticks("cron-conditional", settled) == []


@pytest.mark.slow
@pytest.mark.services
def test_ticks_missed_while_beat_was_down_run_once(start_worker: Worker, start_beat: Beat) -> None:
    start_worker()
    sync_schedules()
    # before the half minute: the missed tick must visibly run at start, well before the next minute's
    wait_until(lambda: timezone.now().second < 30, 40, what="room before the next minute")
    down_since = timezone.now() - timedelta(minutes=5)
    PeriodicTask.objects.filter(name__in=["motia:cron-every-minute#cron", "motia:cron-every-second#cron"]).update(
        last_run_at=down_since)
    launched = timezone.now()
    start_beat()
    wait_until(lambda: len(run_ticks("cron-every-minute")) == 1 and len(run_ticks("cron-every-second")) >= 3, 45,
               what="the missed minute and ticks after the restart")
    [(minute, run)] = run_ticks("cron-every-minute")
    assert minute.scheduled_at == launched.replace(second=0, microsecond=0)
    # (25 s covers starting the beat process on a loaded machine; the next minute is over 30 s away)
    assert (run.started_at - launched).total_seconds() < 25, "the missed tick runs at start, not a minute later"
    seconds = run_ticks("cron-every-second")
    assert seconds[0][0].scheduled_at >= launched - timedelta(seconds=1), "no burst of the ticks beat missed"


@pytest.mark.slow
@pytest.mark.services
def test_a_plain_database_scheduler_syncs_and_says_what_it_cannot_run(start_beat: Beat) -> None:
    start_beat("plain", scheduler="django_celery_beat.schedulers:DatabaseScheduler",
               ready="this beat runs DatabaseScheduler")
    assert PeriodicTask.objects.filter(name__startswith="motia:", enabled=True).count() == len(CRON_STEPS)


@pytest.mark.slow
@pytest.mark.services
def test_motia_dev_runs_beat(transactional_db: None, broker_url: str, tmp_path: Path) -> None:
    port = free_port()
    worker_log = tmp_path / "log" / "worker.log"  # motia_dev's terminal shows step logs, the worker's own go here
    dev = Process([sys.executable, "manage.py", "motia_dev", "--port", str(port), "--celery-app", "project",
                   "--concurrency", "2", "--log-dir", str(tmp_path / "log")], child_env(CELERY_BROKER_URL=broker_url),
                  tmp_path / "motia_dev.log")
    try:
        def worker_ready() -> bool:
            return worker_log.exists() and " ready." in worker_log.read_text()

        wait_until(lambda: worker_ready() or dev.popen.poll() is not None, 60, what="the worker under motia_dev")
        assert dev.popen.poll() is None, dev.output()
        # beat may start before the worker: only ticks once the worker has settled must be on time
        settled = timezone.now() + timedelta(seconds=5)
        wait_until(lambda: len(run_ticks("cron-every-second", settled)) >= 7 or dev.popen.poll() is not None, 60,
                   what="ticks under motia_dev")
        assert dev.popen.poll() is None, dev.output()
        assert_on_time("cron-every-second", 1, settled)
        # the steps table of the summary
        assert re.search(r"cron-every-second +tests/app_steps/cron/ticks_step\.py +cron \*/1 \* \* \* \* \*",
                         dev.output())
    finally:
        dev.stop(timeout=40)  # motia_dev gives its server, worker and beat 15 s to stop
