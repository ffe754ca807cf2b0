"""A production topology on loopback, under load and faults: nothing lost, nothing doubled unrecorded.

Two web processes (gunicorn for WSGI, uvicorn for ASGI), three Celery workers and two beats
(``CronScheduler``) share a fresh PostgreSQL database and a private Redis.  Clients post orders to both
servers for ``LOAD_SECONDS``; each order is stored (a state trigger), fanned out to two queue steps (one of
which hands it on to an audit topic) and queued per customer (FIFO); a cron step ticks every second.
Meanwhile one worker is killed (SIGKILL to its process group), another is replaced by one that knows one
step more (a rolling deploy: a second subscriber of the audit topic) and Redis is restarted.

The steps are in ``tests/topology_steps``; each run of a handler is a ``topology_run`` row.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from motia_django.testing.processes import ChildProcess

from .conftest import ROOT, free_port, require_service, require_tool, service_up, wait_until
from .topology_steps.record import SCHEMA, TABLE

pytestmark = [pytest.mark.slow, pytest.mark.services]

#: How long the clients post orders; the faults happen at fixed fractions of it.
LOAD_SECONDS = float(os.environ.get("MOTIA_TEST_TOPOLOGY_SECONDS", "40"))
KILL_AT, DEPLOY_AT, REDIS_AT = 0.2, 0.4, 0.65
#: Client threads; each owns ``GROUPS`` FIFO groups and posts to the two servers in turn.
CLIENTS = 6
GROUPS = 2
#: Pause of each client between two requests: about CLIENTS / PAUSE requests a second at most.
PAUSE = 0.15
#: Redis hands a dead worker's messages out again after this many seconds.
VISIBILITY = 10
#: The steps each accepted order reaches, and the one a rolling deploy adds.
ORDER_STEPS = ("topology-bill", "topology-ship", "topology-audit", "topology-settle", "topology-watch")
DEPLOYED_STEP = "topology-archive"
STEPS = ROOT / "tests" / "topology_steps"
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
SCHEDULER = "motia_django.cron.scheduler:CronScheduler"

SETTINGS = '''"""Settings of the topology under test (written by tests/production_topology.py)."""
import os

os.environ["DATABASE_URL"] = {database!r}
os.environ["CELERY_BROKER_URL"] = {broker!r}
os.environ["MOTIA_VAR_DIR"] = {var!r}
os.environ["DJANGO_DEBUG"] = "1"

from project.settings import *  # noqa: E402,F403

MOTIA = {{
    "STEPS_DIRS": [{steps!r}] + [d for d in os.environ.get("TOPOLOGY_EXTRA_STEPS", "").split(os.pathsep) if d],
    "RELAY_INTERVAL": 0.5,
    "VISIBILITY_TIMEOUT": 5,
    "OUTAGE_PATIENCE": 10,
}}
CELERY_BROKER_TRANSPORT_OPTIONS = {{"visibility_timeout": {visibility}}}
'''


def now() -> datetime:
    return datetime.now(UTC)


@dataclasses.dataclass
class Sent:
    id: str
    group: str
    seq: int
    server: str
    status: int  # 0: no answer
    seconds: float
    at: datetime
    trace: str = ""


class Database:
    """A database of this test on the shared server, created at start and dropped at the end."""

    def __init__(self) -> None:
        import psycopg

        self.name = f"topology_{uuid.uuid4().hex[:10]}"
        self.url = f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{self.name}"
        self._admin = psycopg.connect(**PG, dbname="postgres", autocommit=True)
        self._admin.execute(f'CREATE DATABASE "{self.name}"')
        self._conn: Any = None

    def connect(self) -> None:
        import psycopg

        self._conn = psycopg.connect(**PG, dbname=self.name, autocommit=True)

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        return list(self._conn.execute(sql, params).fetchall())

    def execute(self, sql: str) -> None:
        self._conn.execute(sql)

    def value(self, sql: str, *params: Any) -> Any:
        return self.rows(sql, *params)[0][0]

    def drop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._admin.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self._admin.close()


class Topology:
    """The processes of the topology, each started and stopped by its PID."""

    def __init__(self, tmp_path: Path, database: Database) -> None:
        self.tmp = tmp_path
        self.redis_port = free_port()
        self.redis_dir = tmp_path / "redis"
        self.redis_dir.mkdir()
        self.redis: ChildProcess | None = None
        self.started: list[ChildProcess] = []
        self.workers: dict[str, ChildProcess] = {}
        self.servers: dict[str, str] = {}
        (tmp_path / "topology_settings.py").write_text(SETTINGS.format(
            database=database.url, broker=f"redis://127.0.0.1:{self.redis_port}/0", var=str(tmp_path / "var"),
            steps=str(STEPS / "base"), visibility=VISIBILITY))
        drop = ("DATABASE_URL", "TEST_DATABASE_URL", "CELERY_BROKER_URL", "MOTIA_TEST_RUN", "MOTIA_VAR_DIR")
        self.env = {**{k: v for k, v in os.environ.items() if k not in drop},
                    "DJANGO_SETTINGS_MODULE": "topology_settings", "PYTHONUNBUFFERED": "1",
                    "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), str(ROOT),
                                                                os.environ.get("PYTHONPATH")]))}

    def _start(self, name: str, args: list[str], **env: str) -> ChildProcess:
        proc = ChildProcess(args, log=self.tmp / f"{name}.log", env={**self.env, "TOPOLOGY_PROCESS": name, **env},
                            cwd=ROOT, name=name)
        self.started.append(proc)
        return proc

    # -- Redis ------------------------------------------------------------------------------------

    def start_redis(self) -> None:
        # SIGTERM saves the data set (into --dir) and the next start loads it: a restart, not a wipe
        args = ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--dir", str(self.redis_dir),
                "--save", "", "--appendonly", "no", "--shutdown-on-sigterm", "save"]
        self.redis = self._start(f"redis-{len(self.started)}", args)
        wait_until(lambda: service_up("127.0.0.1", self.redis_port), 10, what="the private redis")

    def stop_redis(self) -> None:
        assert self.redis is not None
        self.redis.stop()
        self.redis = None

    # -- Django processes -------------------------------------------------------------------------

    def migrate(self) -> None:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=self.env,
                       check=True, timeout=180)

    def start_worker(self, name: str, **env: str) -> ChildProcess:
        args = [sys.executable, "-m", "celery", "-A", "project", "worker", "--loglevel", "INFO", "--concurrency", "2",
                "--hostname", f"{name}@%h", "--without-gossip", "--without-mingle", "--prefetch-multiplier", "1"]
        proc = self._start(name, args, MOTIA_WORKER_NAME=name, **env)
        self.workers[name] = proc
        return proc

    def start_beat(self, name: str) -> ChildProcess:
        args = [sys.executable, "-m", "celery", "-A", "project", "beat", "--loglevel", "INFO", "--scheduler",
                SCHEDULER, "--pidfile", "", "--schedule", str(self.tmp / f"{name}-schedule")]
        return self._start(name, args)

    def start_servers(self) -> list[ChildProcess]:
        wsgi, asgi = free_port(), free_port()
        self.servers = {"gunicorn": f"http://127.0.0.1:{wsgi}", "uvicorn": f"http://127.0.0.1:{asgi}"}
        return [
            self._start("gunicorn", [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind",
                                     f"127.0.0.1:{wsgi}", "--workers", "2", "--graceful-timeout", "5",
                                     "--no-control-socket"]),
            self._start("uvicorn", [sys.executable, "-m", "uvicorn", "project.asgi:application", "--host", "127.0.0.1",
                                    "--port", str(asgi), "--log-level", "warning"]),
        ]

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            proc.stop(timeout=10)


def _answers(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=2)
        return True
    except httpx.HTTPError:
        return False


def wait_ready(proc: ChildProcess, ready: str | None = None, url: str = "", timeout: float = 60) -> None:
    def up() -> bool:
        if proc.popen.poll() is not None:
            raise AssertionError(f"{proc.name} exited:\n{proc.tail()}")
        return _answers(url) if url else ready in proc.output()

    wait_until(up, timeout, interval=0.2, what=lambda: f"{proc.name} to start:\n{proc.tail()}")


@pytest.fixture
def topology(tmp_path: Path) -> Iterator[tuple[Topology, Database]]:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("the topology runs on PostgreSQL (the PostgreSQL pass runs this)")
    require_service("PostgreSQL", PG["host"], PG["port"])
    require_tool("redis-server")
    database = Database()
    top = Topology(tmp_path, database)
    try:
        yield top, database
    finally:
        top.stop_all()
        database.drop()


# -- load ---------------------------------------------------------------------------------------------


def client(index: int, servers: dict[str, str], until: float, sent: list[Sent]) -> None:
    groups = [f"c{index}-g{n}" for n in range(GROUPS)]
    seqs = dict.fromkeys(groups, 0)
    names = itertools.cycle(sorted(servers) if index % 2 else sorted(servers, reverse=True))
    with httpx.Client(timeout=10) as http:
        for group in itertools.cycle(groups):
            if time.monotonic() >= until:
                return
            server = next(names)
            order = {"id": uuid.uuid4().hex, "group": group, "seq": seqs[group]}
            seqs[group] += 1
            started, at, trace = time.perf_counter(), now(), ""
            try:
                response = http.post(f"{servers[server]}/topology/orders", json=order)
                status, trace = response.status_code, response.json().get("trace", "")
            except (httpx.HTTPError, ValueError):
                status = 0
            sent.append(Sent(order["id"], group, order["seq"], server, status, time.perf_counter() - started, at,
                             trace))
            time.sleep(PAUSE)


# -- reading results back -----------------------------------------------------------------------------


def runs(db: Database) -> dict[tuple[str, str], list[tuple[int, str, str, str, int | None, datetime]]]:
    """Per (step, key): its runs in commit order (id, trace, process, group, seq, time)."""
    result: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for row in db.rows(f"SELECT step, key, id, trace_id, process, grp, seq, at FROM {TABLE} ORDER BY id"):
        result[(row[0], row[1])].append(row[2:])
    return result


def max_attempts(db: Database) -> dict[tuple[str, str], int]:
    """The highest attempt recorded per (step, trace id)."""
    return {(step, trace): attempt for step, trace, attempt in db.rows(
        "SELECT step, trace_id, max(attempt) FROM motia_django_execution GROUP BY step, trace_id")}


def explain(db: Database, top: Topology, lost: list[tuple[str, str]], sent: list[Sent],
            faults: dict[str, datetime]) -> str:
    """What the records say about lost effects: the request, its trace's executions, the logs naming it."""
    orders = {s.id: s for s in sent}
    lines = [f"faults: {faults}"]
    for step, key in lost[:4]:
        order = orders[key]
        lines.append(f"{step} {order}")
        lines += [f"  {row}" for row in db.rows(
            "SELECT step, attempt, status, worker, started_at, message_id, error FROM motia_django_execution"
            " WHERE trace_id = %s ORDER BY started_at", order.trace)]
        lines += [f"  log {proc.name}: {line[:300]}" for proc in top.started for line in proc.output().splitlines()
                  if order.trace and order.trace in line]
    return "\n".join(lines)


def _received(proc: ChildProcess) -> dict[str, datetime]:
    """When ``proc`` received each task (Celery's ``Task name[id] received`` lines), by task id."""
    found = {}
    for line in proc.output().splitlines():
        match = re.match(r"\[(\S+ \S+): INFO/MainProcess\] Task .*\[([0-9a-f-]+)\] received$", line)
        if match:
            found[match[2]] = datetime.strptime(match[1], "%Y-%m-%d %H:%M:%S,%f").replace(tzinfo=UTC)
    return found


def taken_again(killed: ChildProcess, others: list[ChildProcess]) -> datetime | None:
    """When the last of the tasks ``killed`` held unfinished was received by another worker."""
    held = set(_received(killed)) - set(re.findall(r"\[([0-9a-f-]+)\] succeeded", killed.output()))
    later = [at for proc in others for task, at in _received(proc).items() if task in held]
    return max(later, default=None)


def quiet(db: Database, killed: set[str]) -> bool:
    pending = db.value("SELECT (SELECT count(*) FROM motia_django_outboxmessage)"
                       " + (SELECT count(*) FROM motia_django_fifomessage)"
                       " + (SELECT count(*) FROM motia_django_waitingmessage)")
    running = db.value("SELECT count(*) FROM motia_django_execution WHERE status = 'running'"
                       " AND NOT (split_part(worker, '@', 1) = ANY(%s))", list(killed))
    return int(pending) == 0 and int(running) == 0


def test_production_topology_under_load_and_faults(topology: tuple[Topology, Database]) -> None:
    top, db = topology
    began = time.monotonic()
    top.migrate()
    db.connect()
    db.execute(SCHEMA)
    top.start_redis()
    processes = [*top.start_servers(), top.start_worker("w1"), top.start_worker("w2"), top.start_worker("w3"),
                 top.start_beat("beat1"), top.start_beat("beat2")]
    for proc in processes:
        if proc.name in top.servers:
            wait_ready(proc, url=top.servers[proc.name])
        elif proc.name.startswith("beat"):
            wait_ready(proc, "cron entries synced")
        else:
            wait_ready(proc, " ready.")
    setup_seconds = time.monotonic() - began

    sent: list[Sent] = []
    load_start = now()
    until = time.monotonic() + LOAD_SECONDS
    clients = [threading.Thread(target=client, args=(n, top.servers, until, sent), daemon=True) for n in range(CLIENTS)]
    for thread in clients:
        thread.start()
    figures: dict[str, float] = {}
    faults: dict[str, datetime] = {}

    def at(fraction: float) -> None:
        time.sleep(max(0.0, until - LOAD_SECONDS * (1 - fraction) - time.monotonic()))

    # 1. a worker killed with its pool
    at(KILL_AT)
    faults["kill"] = now()
    os.killpg(top.workers["w1"].pid, signal.SIGKILL)
    top.workers["w1"].popen.wait()

    # 2. a rolling deploy of a release with one step more: w2 stops (warm shutdown) and w2b starts; then
    #    w3b starts and w3 stops.  Meanwhile w3 gets messages for the step it does not know and holds them.
    at(DEPLOY_AT)
    faults["deploy"] = now()
    top.workers["w2"].stop()
    upgraded = top.start_worker("w2b", TOPOLOGY_EXTRA_STEPS=str(STEPS / "deploy"))
    wait_ready(upgraded, " ready.")
    faults["deployed"] = now()
    wait_ready(top.start_worker("w3b", TOPOLOGY_EXTRA_STEPS=str(STEPS / "deploy")), " ready.")
    top.workers["w3"].stop()
    faults["rolled"] = now()

    # 3. Redis restarted
    at(REDIS_AT)
    faults["redis"] = now()
    top.stop_redis()
    top.start_redis()
    faults["redis-up"] = now()
    wait_until(lambda: db.value("SELECT count(*) FROM motia_django_outboxmessage") == 0, 60, interval=0.2,
               what="the outbox to empty after the Redis restart")
    figures["outbox drained after the Redis restart (s)"] = (now() - faults["redis-up"]).total_seconds()

    for thread in clients:
        thread.join(30)
    load_end = now()
    load_seconds = (load_end - load_start).total_seconds()

    wait_until(lambda: quiet(db, {"w1"}), 120, interval=1, what="the topology to go quiet")
    settled: list[int] = []

    def stable() -> bool:
        settled.append(int(db.value(f"SELECT count(*) FROM {TABLE} WHERE step <> 'topology-clock'")))
        return len(settled) >= 3 and len(set(settled[-3:])) == 1 and quiet(db, {"w1"})

    wait_until(stable, 60, interval=1, what="no more runs")
    # a tick's message can still be on its way through Redis when the database looks quiet
    wait_until(lambda: not db.value(
        f"SELECT count(*) FROM motia_django_crontick c WHERE binding LIKE 'topology-clock%%' AND scheduled_at < %s"
        f" AND NOT EXISTS (SELECT 1 FROM {TABLE} r WHERE r.step = 'topology-clock' AND r.trace_id = c.trace_id)",
        load_end), 30, interval=0.5, what="the ticks of the load to run")

    # -- what happened ------------------------------------------------------------------------------
    accepted = [s for s in sent if 200 <= s.status < 300]
    unanswered = [s for s in sent if s.status == 0]
    refused = [s for s in sent if s.status and not 200 <= s.status < 300]
    by_server = Counter(s.server for s in accepted)
    done = runs(db)
    attempts = max_attempts(db)
    lost = [(step, s.id) for s in accepted for step in ORDER_STEPS if (step, s.id) not in done]
    doubled = {(step, key): len(rows) for (step, key), rows in done.items() if len(rows) > 1}
    ticks = {at: trace for at, trace in db.rows(
        "SELECT scheduled_at, trace_id FROM motia_django_crontick WHERE binding LIKE 'topology-clock%%'")}
    seconds = int((load_end - load_start).total_seconds())
    expected = [load_start.replace(microsecond=0) + timedelta(seconds=n) for n in range(2, seconds - 1)]
    missing = [t for t in expected if t not in ticks]
    # a message whose first run was under way as Redis went down can run again with the same attempt
    # number: its publish or acknowledgement got no answer, and Redis had it already (docs/benchmarks.md)
    restart = (faults["redis"] - timedelta(seconds=2), faults["redis-up"] + timedelta(seconds=2))
    restart_copies = {(step, key) for (step, key), n in doubled.items()
                      if attempts.get((step, done[(step, key)][0][1]), 0) < n
                      and restart[0] <= done[(step, key)][0][5] <= restart[1]}
    archived = {key for (step, key) in done if step == DEPLOYED_STEP}
    handed_on = {key for (step, key), rows in done.items() if step == "topology-bill"
                 and any(row[2] == "w2b" for row in rows)}
    held = sum(proc.output().count(f"no step trigger {DEPLOYED_STEP}") for proc in top.started)
    letters = db.rows("SELECT step, error_type, count(*) FROM motia_django_deadletter GROUP BY step, error_type")

    # -- figures ------------------------------------------------------------------------------------
    deliveries = int(db.value("SELECT count(*) FROM motia_django_execution WHERE status = 'succeeded'"
                              " AND trigger_type <> 'http' AND started_at BETWEEN %s AND %s", load_start, load_end))
    redelivered = taken_again(top.workers["w1"], [proc for proc in top.workers.values() if proc.name != "w1"])
    first_after_redis = db.value(f"SELECT min(at) FROM {TABLE} WHERE at > %s AND step <> 'topology-clock'",
                                 faults["redis-up"])
    first_archive = db.value(f"SELECT min(at) FROM {TABLE} WHERE step = %s", DEPLOYED_STEP)
    figures.update({
        "setup: database, Redis, 7 processes (s)": setup_seconds,
        "requests/s (both servers)": len(accepted) / load_seconds,
        "messages/s (deliveries that succeeded)": deliveries / load_seconds,
        "worker SIGKILL: its messages done again after (s)":
            (redelivered - faults["kill"]).total_seconds() if redelivered else -1.0,
        "rolling deploy: new worker ready after (s)": (faults["deployed"] - faults["deploy"]).total_seconds(),
        "rolling deploy: every worker on the new release after (s)":
            (faults["rolled"] - faults["deploy"]).total_seconds(),
        "rolling deploy: messages an old worker held for a new one": float(held),
        "rolling deploy: first run of the new step after (s)":
            (first_archive - faults["deploy"]).total_seconds() if first_archive else -1.0,
        "Redis restart: down for (s)": (faults["redis-up"] - faults["redis"]).total_seconds(),
        "Redis restart: next delivery after it was back (s)":
            (first_after_redis - faults["redis-up"]).total_seconds() if first_after_redis else -1.0,
        "cron ticks missed during the Redis restart": float(len(missing)),
        "Redis restart: messages run again with the same attempt number": float(len(restart_copies)),
        "wall time (s)": time.monotonic() - began,
    })
    print(f"\n{len(sent)} requests ({len(accepted)} accepted, {len(unanswered)} unanswered,"
          f" {dict(by_server)}), {sum(len(r) for r in done.values())} runs, {len(doubled)} run twice or more"
          f" (max attempt {max(attempts.values(), default=1)}), {len(archived)} runs of the deployed step"
          f" ({held} held by an old worker), {len(lost)} effects lost, dead letters {letters}")
    width = max(len(name) for name in figures)
    for name, value in figures.items():
        print(f"{name:<{width}}  {value:8.2f}")

    assert not refused, Counter(s.status for s in refused)
    assert len(accepted) >= LOAD_SECONDS, "the load did not get going"
    assert set(by_server) == {"gunicorn", "uvicorn"}, by_server

    # every accepted order reached every step: nothing lost
    assert not lost, f"{len(lost)} effects lost: {lost[:10]}\n{explain(db, top, lost, sent, faults)}"
    known = {s.id for s in sent}
    strangers = [key for (step, key) in done if step != "topology-clock" and key not in known]
    assert not strangers, strangers[:10]

    # a step that ran twice for one message recorded the second run as a higher attempt
    unexplained = {(step, key): n for (step, key), n in doubled.items()
                   if attempts.get((step, done[(step, key)][0][1]), 0) < n and (step, key) not in restart_copies}
    assert not unexplained, f"runs not recorded as further attempts: {unexplained}"

    # FIFO: each group's orders ran in the order they were sent, a repeated run only right after its first
    fifo: dict[str, list[int]] = defaultdict(list)
    for row in sorted(row for (step, _), rows in done.items() if step == "topology-settle" for row in rows):
        fifo[row[3]].append(int(row[4]))
    for group, seqs in fifo.items():
        collapsed = [seq for seq, _ in itertools.groupby(seqs)]
        assert collapsed == sorted(set(collapsed)), (group, seqs)
        assert {s.seq for s in accepted if s.group == group} <= set(collapsed), group

    # cron: one tick a second through the load, each run; gaps only while beat could not reach Redis
    outage = (faults["redis"] - timedelta(seconds=1), faults["redis-up"] + timedelta(seconds=2))
    unexplained_gaps = [t for t in missing if not outage[0] <= t <= outage[1]]
    assert not unexplained_gaps, unexplained_gaps
    ran = {rows[0][1] for (step, _), rows in done.items() if step == "topology-clock"}
    assert not [t for t, trace in ticks.items() if trace not in ran and t < load_end], "a recorded tick never ran"

    # the rolling deploy: the new step's messages reach a worker that knows it, wherever they landed first
    assert handed_on <= archived, f"{len(handed_on - archived)} messages of the new step lost"
    assert not letters, letters
