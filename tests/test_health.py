"""``manage.py motia_health`` against the real database and broker, and ``/healthz`` / ``/readyz`` over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone

from motia_django.cron.expression import CronExpression
from motia_django.cron.models import CronTick
from motia_django.cron.sync import schedule_timezone
from motia_django.models import DeadLetter, OutboxMessage
from motia_django.registry import get_registry

from .conftest import ROOT, Process, child_env, free_port, service_up, start_uvicorn, wait_until

Worker = Callable[..., Process]

pytestmark = pytest.mark.timeout(120)


def motia_health(*options: str, **env: str) -> tuple[int, dict[str, Any]]:
    """Run the command in a child process on the test database; its exit code and its ``--json`` report."""
    done = subprocess.run([sys.executable, "manage.py", "motia_health", "--json", *options], cwd=ROOT,
                          env=child_env(**env), capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


@pytest.fixture
def closed_broker() -> str:
    """A Redis URL on a loopback port nothing listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


def test_a_healthy_runtime_passes_every_check(start_worker: Worker) -> None:
    start_worker("h1")
    code, report = motia_health("--skip", "beat")
    assert statuses(report) == {"database": "ok", "migrations": "ok", "broker": "ok", "outbox": "ok",
                                "dead_letters": "ok", "workers": "ok"}, report
    assert (code, report["status"]) == (0, "ok")
    workers = next(check for check in report["checks"] if check["name"] == "workers")
    assert workers["value"] == 1 and "h1@" in workers["detail"]


def test_the_human_table_names_each_check(transactional_db: None, broker_url: str) -> None:
    done = subprocess.run([sys.executable, "manage.py", "motia_health", "--skip", "workers", "--skip", "beat"],
                          cwd=ROOT, env=child_env(), capture_output=True, text=True, timeout=60)
    lines = done.stdout.splitlines()
    assert [line.split()[:2] for line in lines[:-1]] == [
        ["database", "ok"], ["migrations", "ok"], ["broker", "ok"], ["outbox", "ok"], ["dead_letters", "ok"]]
    assert lines[-1] == "overall: ok" and done.returncode == 0


def test_no_worker_answering_fails(transactional_db: None, broker_url: str) -> None:
    code, report = motia_health("--skip", "beat", "--timeout", "1")
    assert statuses(report)["workers"] == "fail" and code == 1


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Process]]:
    """A Redis of this test alone (the shared one is never stopped): its URL and its process."""
    port = free_port()
    proc = Process(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                   dict(os.environ), tmp_path / "redis.log")
    wait_until(lambda: service_up("127.0.0.1", port), 10, what="private redis")
    yield f"redis://127.0.0.1:{port}/0", proc
    proc.stop()


def test_a_stopped_broker_fails_quickly(transactional_db: None, private_redis: tuple[str, Process]) -> None:
    url, redis_server = private_redis
    code, report = motia_health("--skip", "beat", "--skip", "workers", CELERY_BROKER_URL=url)
    assert statuses(report)["broker"] == "ok" and code == 0
    redis_server.stop()
    started = timezone.now()
    code, report = motia_health("--skip", "beat", "--timeout", "2", CELERY_BROKER_URL=url)
    assert (timezone.now() - started).total_seconds() < 15
    assert statuses(report)["broker"] == "fail" and statuses(report)["database"] == "ok"
    assert code == 1 and report["status"] == "fail"


def test_dead_letters_warn_and_fail_at_their_thresholds(transactional_db: None, broker_url: str) -> None:
    DeadLetter.objects.create(step="ops-fail", binding="ops-fail#0:ops.fail", message_id="m1", trace_id="t1",
                              envelope={}, error="RuntimeError: x", error_type="RuntimeError", attempts=2)
    code, report = motia_health("--skip", "beat", "--skip", "workers")
    assert statuses(report)["dead_letters"] == "warn" and (code, report["status"]) == (2, "warn")
    code, report = motia_health("--skip", "beat", "--skip", "workers", "--dead-letters-fail", "1")
    assert statuses(report)["dead_letters"] == "fail" and code == 1
    code, report = motia_health("--skip", "beat", "--skip", "workers", "--dead-letters-warn", "0")
    assert statuses(report)["dead_letters"] == "ok" and code == 0


def test_an_old_outbox_row_fails(transactional_db: None, broker_url: str) -> None:
    row = OutboxMessage.objects.create(binding="ops-work#0:ops.work", queue="motia.ops.work", envelope={"id": "x"})
    OutboxMessage.objects.filter(pk=row.pk).update(created_at=timezone.now() - timedelta(minutes=20))
    code, report = motia_health("--skip", "beat", "--skip", "workers")
    outbox = next(check for check in report["checks"] if check["name"] == "outbox")
    assert (outbox["status"], outbox["value"], code) == ("fail", 1, 1)
    code, report = motia_health("--skip", "beat", "--skip", "workers", "--outbox-age-fail", "3600")
    assert statuses(report)["outbox"] == "warn" and code == 2


def _record_due_ticks(lateness: float) -> list[str]:
    """Record, for every cron trigger of the test app, the latest tick due ``lateness`` seconds ago."""
    now = datetime.now(schedule_timezone())
    keys = []
    for binding in get_registry().schedules:
        due = CronExpression.parse(binding.trigger.expression).latest_at_or_before(  # type: ignore[union-attr]
            now - timedelta(seconds=lateness))
        CronTick.objects.create(binding=binding.key, scheduled_at=due, message_id=binding.key, trace_id="t")
        keys.append(binding.key)
    return keys


def test_beat_is_judged_by_the_ticks_recorded(transactional_db: None, broker_url: str) -> None:
    assert get_registry().schedules, "the test app has cron triggers"
    code, report = motia_health("--skip", "workers")
    assert statuses(report)["beat"] == "warn" and code == 2  # nothing recorded yet
    keys = _record_due_ticks(lateness=0)
    code, report = motia_health("--skip", "workers", "--beat-lateness-fail", "600")
    assert statuses(report)["beat"] == "ok" and code == 0, report
    CronTick.objects.filter(binding=keys[0]).delete()
    code, report = motia_health("--skip", "workers", "--beat-lateness-fail", "600")
    beat = next(check for check in report["checks"] if check["name"] == "beat")
    assert beat["status"] == "fail" and "missed a tick" in beat["detail"] and code == 1


def test_unapplied_migrations_fail(tmp_path: Path, broker_url: str) -> None:
    """A database nobody migrated: reachable, but not ready to serve."""
    code, report = motia_health("--skip", "workers", "--skip", "beat",
                                TEST_DATABASE_URL=f"sqlite:///{tmp_path / 'empty.sqlite3'}")
    checks = {check["name"]: check for check in report["checks"]}
    assert checks["database"]["status"] == "ok"
    assert checks["migrations"]["status"] == "fail" and checks["migrations"]["value"] > 0
    assert code == 1


# -- endpoints ----------------------------------------------------------------------------------


@pytest.fixture
def server(transactional_db: None, broker_url: str, tmp_path: Path) -> Iterator[str]:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    yield base
    proc.stop()


def test_healthz_and_readyz_answer_ok_and_say_nothing_else(server: str) -> None:
    live = httpx.get(f"{server}/healthz", timeout=5)
    assert (live.status_code, live.json()) == (200, {"status": "ok"})
    assert live.headers["cache-control"] == "no-store"
    ready = httpx.get(f"{server}/readyz", timeout=5)
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": {"database": "ok", "broker": "ok"}})
    assert httpx.head(f"{server}/readyz", timeout=5).status_code == 200
    assert httpx.post(f"{server}/healthz", timeout=5).status_code == 405


def test_readyz_fails_without_a_broker_and_leaks_no_error(transactional_db: None, tmp_path: Path,
                                                         closed_broker: str) -> None:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", CELERY_BROKER_URL=closed_broker)
    try:
        ready = httpx.get(f"{base}/readyz", timeout=10)
        live = httpx.get(f"{base}/healthz", timeout=5)
    finally:
        proc.stop()
    assert (ready.status_code, ready.json()) == (503, {"status": "fail",
                                                       "checks": {"database": "ok", "broker": "fail"}})
    assert str(closed_broker.split(":")[-1].split("/")[0]) not in ready.text
    assert live.status_code == 200  # liveness does no I/O: a lost broker restarts nothing
