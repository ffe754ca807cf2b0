"""Cron tick accuracy: how late a ``*/1 * * * * *`` step starts, and whether a tick is missed or run twice.

Generates a one-step project in a temporary folder (the step does nothing), migrates
a fresh database (SQLite there, or a scratch PostgreSQL database created and dropped
on the server given with ``--postgres``), empties the Redis database of the broker,
then starts a real worker and ``--beats`` real ``celery beat`` processes
(``CronScheduler``) on 127.0.0.1.  After a short warm-up it watches ``--seconds``
whole seconds of ticks and reports, per scheduled second:

* delay: the first execution's ``started_at`` minus the scheduled time
  (beat wake-up, tick task, outbox, delivery), as p50 / p90 / p99 / max;
* missing: seconds of the window with no tick, or a tick whose step never started;
* duplicate: executions beyond the first for one scheduled second.

Usage::

    python bench/cron_accuracy.py [--seconds 60] [--beats 1] [--broker redis://127.0.0.1:6379/14]
                                  [--postgres postgres://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from motia_django.testing.processes import ChildProcess, log_shows

REPO_ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGE = "cron_bench_site"
EXPRESSION = "*/1 * * * * *"
BINDING = "cron-bench#0"
WARM_UP = 3.0
TARGET_P99 = 1.0

STEP_FILE = f'''\
"""The benchmarked step: a cron trigger every second, an empty handler."""

from motia import cron, step


async def handler(input, ctx):
    return None


bench = step({{"name": "cron-bench", "triggers": [cron({EXPRESSION!r})]}}, handler)
'''

SETTINGS_FILE = '''\
"""Benchmark settings: the example project with the one cron step."""

from __future__ import annotations

import os

os.environ.setdefault("MOTIA_VAR_DIR", {var_dir!r})
os.environ.setdefault("DJANGO_DEBUG", "1")  # the example project's development defaults (hosts, no HTTPS)

from project.settings import *  # noqa: E402,F403

DEBUG = False
MOTIA = {{"STEPS_DIRS": [{steps_dir!r}]}}
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
    "loggers": {{"motia": {{"handlers": ["console"], "level": "WARNING", "propagate": False}},
                 "motia.cron": {{"handlers": ["console"], "level": "INFO", "propagate": False}}}},
}}
'''


def write_project(root: Path) -> tuple[Path, Path]:
    """Generate the steps folder and the settings package; returns (site dir, var dir)."""
    steps = root / "steps"
    steps.mkdir()
    (steps / "tick_step.py").write_text(STEP_FILE)
    package = root / "site" / SITE_PACKAGE
    package.mkdir(parents=True)
    var_dir = root / "var"
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS_FILE.format(var_dir=str(var_dir), steps_dir=str(steps)))
    return package.parent, var_dir


# -- scratch PostgreSQL database ------------------------------------------------------------------


def create_database(server_url: str) -> tuple[str, str]:
    """Create a scratch database on the server; returns (its URL, its name)."""
    import psycopg

    name = f"motia_cron_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    parts = urlsplit(server_url)
    return urlunsplit(parts._replace(path=f"/{name}")), name


def drop_database(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# -- broker ---------------------------------------------------------------------------------------


def flush_broker(url: str) -> None:
    if url.startswith("redis://"):
        import redis

        redis.Redis.from_url(url).flushdb()


# -- measurement ----------------------------------------------------------------------------------


@dataclass
class Report:
    seconds: int
    beats: int
    database: str
    broker: str
    delays: list[float]
    missing: int
    duplicates: int
    sent: int  # tick messages sent by all beats over the whole run
    produced: int  # ticks recorded over the whole run (each sent tick once, copies dropped)

    def percentile_ms(self, q: float) -> float | None:
        """Nearest-rank percentile of the delays, in ms (``None`` when no tick ran)."""
        if not self.delays:
            return None
        ordered = sorted(self.delays)
        return round(ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)] * 1000, 1)

    def as_dict(self) -> dict[str, Any]:
        return {
            "seconds": self.seconds, "beats": self.beats, "database": self.database, "broker": self.broker,
            "ticks": len(self.delays), "missing": self.missing, "duplicates": self.duplicates,
            "sent_by_beats": self.sent, "produced": self.produced, "p50_ms": self.percentile_ms(50),
            "p90_ms": self.percentile_ms(90), "p99_ms": self.percentile_ms(99), "max_ms": self.percentile_ms(100),
            "mean_ms": round(statistics.fmean(self.delays) * 1000, 1) if self.delays else None,
        }

    @property
    def on_target(self) -> bool:
        p99 = self.percentile_ms(99)
        return not self.missing and not self.duplicates and p99 is not None and p99 < TARGET_P99 * 1000


def measure(window_start: datetime, seconds: int) -> tuple[list[float], int, int]:
    """Delays of the window's ticks, and its missing ticks and duplicate runs."""
    from motia_django.cron.models import CronTick
    from motia_django.models import Execution

    window_end = window_start + timedelta(seconds=seconds)
    rows = CronTick.objects.filter(binding=BINDING, scheduled_at__gte=window_start, scheduled_at__lt=window_end)
    by_time = {row.scheduled_at: row for row in rows}
    runs: dict[str, list[datetime]] = {}
    executions = Execution.objects.filter(binding=BINDING, message_id__in=[r.message_id for r in by_time.values()])
    for message_id, started_at in executions.values_list("message_id", "started_at"):
        runs.setdefault(message_id, []).append(started_at)
    delays: list[float] = []
    missing = duplicates = 0
    for offset in range(seconds):
        tick = by_time.get(window_start + timedelta(seconds=offset))
        started = sorted(runs.get(tick.message_id, [])) if tick is not None else []
        if not started:
            missing += 1
            continue
        duplicates += len(started) - 1
        delays.append((started[0] - tick.scheduled_at).total_seconds())
    return delays, missing, duplicates


def settled_count(queryset: Any, timeout: float = 20) -> int:
    """The row count once it stopped changing for a second (the worker finished what the beats sent)."""
    deadline = time.monotonic() + timeout
    count = queryset.count()
    while time.monotonic() < deadline:
        time.sleep(1)
        latest = queryset.count()
        if latest == count:
            break
        count = latest
    return count


def run(args: argparse.Namespace, workdir: Path) -> Report:
    site, var_dir = write_project(workdir)
    env = dict(os.environ)
    env.update(
        PYTHONPATH=os.pathsep.join(p for p in (str(site), str(REPO_ROOT), env.get("PYTHONPATH")) if p),
        DJANGO_SETTINGS_MODULE=f"{SITE_PACKAGE}.settings", MOTIA_VAR_DIR=str(var_dir), PYTHONUNBUFFERED="1",
        CELERY_BROKER_URL=args.broker,
    )
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    os.environ.update(env)
    sys.path[:0] = [str(site), str(REPO_ROOT)]
    subprocess.run([sys.executable, "-m", "django", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env,
                   check=True)
    flush_broker(args.broker)

    import django

    django.setup()
    from motia_django.cron.models import CronTick

    children: list[ChildProcess] = []
    try:
        children.append(ChildProcess([
            sys.executable, "-m", "celery", "-A", "project", "worker", "--loglevel", "INFO", "--concurrency", "2",
            "--without-gossip", "--without-mingle", "--prefetch-multiplier", "1"],
            log=workdir / "worker.log", cwd=REPO_ROOT, env=env, name="worker"))
        children[-1].wait_until_ready(log_shows(" ready."))
        for number in range(1, args.beats + 1):
            children.append(ChildProcess([
                sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO", "--scheduler",
                "motia_django.cron.scheduler:CronScheduler"],
                log=workdir / f"beat{number}.log", cwd=REPO_ROOT, env=env, name=f"beat{number}"))
            children[-1].wait_until_ready(log_shows("cron entries synced"))
        first = datetime.now(UTC) + timedelta(seconds=WARM_UP)
        window_start = first.replace(microsecond=0) + timedelta(seconds=1)
        window_end = window_start + timedelta(seconds=args.seconds)
        print(f"measuring {args.seconds} s from {window_start.isoformat()} with {args.beats} beat(s)", flush=True)
        time.sleep(max(0.0, (window_end - datetime.now(UTC)).total_seconds()) + 3)
        for child in children[1:]:
            child.stop()
        produced = settled_count(CronTick.objects.filter(binding=BINDING))
        delays, missing, duplicates = measure(window_start, args.seconds)
        sent = sum(child.output().count(f"Sending due task motia:{BINDING}") for child in children[1:])
    finally:
        for child in children:
            child.stop()
    database = "PostgreSQL" if args.database_url else "SQLite"
    return Report(args.seconds, args.beats, database, urlsplit(args.broker).scheme, delays, missing, duplicates,
                  sent, produced)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=60, help="length of the measured window")
    parser.add_argument("--beats", type=int, default=1, help="beat processes sharing the database and broker")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/14", help="broker URL (its Redis db is emptied)")
    parser.add_argument("--postgres", default=None,
                        help="PostgreSQL server URL: run on a scratch database created there (default: SQLite)")
    args = parser.parse_args()
    args.database_url = None
    scratch = None
    if args.postgres:
        args.database_url, scratch = create_database(args.postgres)
    try:
        with tempfile.TemporaryDirectory(prefix="motia-cron-bench-") as tmp:
            report = run(args, Path(tmp))
    finally:
        if scratch:
            drop_database(args.postgres, scratch)
    data = report.as_dict()
    print(f"\n{data['database']}, {data['broker']} broker, {data['beats']} beat(s), {data['seconds']} s of "
          f"{EXPRESSION!r}")
    print(f"  ticks run      {data['ticks']} of {data['seconds']}")
    print(f"  whole run      {data['sent_by_beats']} tick messages sent by the beats, {data['produced']} ticks run")
    print(f"  missing        {data['missing']}")
    print(f"  duplicate runs {data['duplicates']}")
    print(f"  delay p50      {data['p50_ms']} ms")
    print(f"  delay p90      {data['p90_ms']} ms")
    print(f"  delay p99      {data['p99_ms']} ms   (target < {TARGET_P99 * 1000:.0f} ms)")
    print(f"  delay max      {data['max_ms']} ms")
    print(json.dumps(data))
    if not report.on_target:
        sys.exit(1)


if __name__ == "__main__":
    main()
