"""Fixtures shared by every tier: child-process environment, live servers, workers, services."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from motia_django.testing.processes import ChildProcess

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI") == "true"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_up(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip outside CI when a service is down; in CI a missing service fails the test."""
    if service_up(host, port):
        return
    if IN_CI:
        pytest.fail(f"{name} at {host}:{port} is down, and CI must not skip service tests")
    pytest.skip(f"{name} at {host}:{port} is not running")


def require_tool(tool: str) -> str:
    """The path of ``tool``; outside CI a missing tool skips the test, in CI it fails it."""
    path = shutil.which(tool)
    if path is None:
        if IN_CI:
            pytest.fail(f"{tool} is not installed, and CI must not skip the tests that need it")
        pytest.skip(f"{tool} is not installed")
    return path


def interrupt(proc: Process, timeout: float = 30) -> None:
    """Stop ``proc`` as Ctrl-C in its terminal would, and make sure it is gone."""
    try:
        proc.popen.send_signal(signal.SIGINT)
        proc.popen.wait(timeout)
    finally:
        proc.stop()


def assert_fifo_order(log: Iterable[dict[str, Any]], per_group: int) -> None:
    """Each group's entries (``group``, ``seq``, ``start``, ``end``) ran one after another, ``seq`` 0, 1, 2, ..."""
    by_group: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for entry in log:
        by_group[entry["group"]].append(entry)
    for entries in by_group.values():
        entries.sort(key=lambda e: e["start"])
        assert [e["seq"] for e in entries] == list(range(per_group))
        for earlier, later in zip(entries, entries[1:], strict=False):
            assert later["start"] >= earlier["end"]


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def child_env(**extra: str) -> dict[str, str]:
    """Environment for server and worker processes: same settings, same test database."""
    url = database_url()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "TEST_DATABASE_URL": url, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    env.update(extra)
    return env


def clock_off(seconds: float) -> dict[str, str]:
    """Extra environment for a child whose wall clock reads ``seconds`` off (see ``tests/clock_skew``)."""
    path = [str(ROOT / "tests" / "clock_skew"), str(ROOT), os.environ.get("PYTHONPATH")]
    return {"MOTIA_TEST_CLOCK_OFFSET": str(seconds), "PYTHONPATH": os.pathsep.join(filter(None, path))}


class Process(ChildProcess):
    """A child process of a test, started from the repository root (see :class:`ChildProcess`)."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        super().__init__(args, log=log, env=env, cwd=ROOT)


def serve_http(args: list[str], port: int, log: Path, env: dict[str, str], name: str) -> tuple[Process, str]:
    """Start a server on ``port`` and wait until the example app answers; returns it and its base URL."""
    proc = Process(args, env, log)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            pytest.fail(f"{name} exited early:\n{proc.output()}")
        try:
            httpx.get(f"{base}/hello/up", timeout=1)
            return proc, base
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.stop()
    pytest.fail(f"{name} did not start:\n{proc.output()}")


def start_uvicorn(log: Path, **env: str) -> tuple[Process, str]:
    """``uvicorn project.asgi:application`` on a free loopback port, ready to serve."""
    port = free_port()
    args = [sys.executable, "-m", "uvicorn", "project.asgi:application", "--host", "127.0.0.1", "--port", str(port),
            "--log-level", "warning"]
    return serve_http(args, port, log, child_env(**env), "uvicorn")


@pytest.fixture
def live_asgi(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """A live ASGI server on the test database; yields its base URL."""
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    yield base
    proc.stop()


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Let the PostgreSQL test database be dropped at the end even if a thread of the run still holds a connection."""
    yield
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                       " WHERE datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(autouse=True)
def _write_trace_records(request: pytest.FixtureRequest) -> Iterator[None]:
    """Write this test's batched execution and log records while its database still exists.

    The test's database fixture is set up first, so that this teardown runs before the database is
    flushed or rolled back, even when the test reaches the database through another fixture.
    """
    for name in ("transactional_db", "db", "_django_db_helper"):
        if name in request.fixturenames:
            request.getfixturevalue(name)
            break
    yield
    from motia_django.tracing.recorder import flush

    try:
        flush()
    except Exception:  # a test without database access: nothing of its own to write
        pass


def trace_of(job: str) -> str:
    """The trace id a test gives the request of ``job``: clients set one only through a W3C ``traceparent``."""
    return hashlib.sha256(job.encode()).hexdigest()[:32]


def traceparent(job: str) -> str:
    return f"00-{trace_of(job)}-00f067aa0ba902b7-01"


def stream_progress(job: str) -> dict[str, Any]:
    """What a ``tests/app_steps/core/streaming_step.py`` handler stored about itself: ``written``, ``ended``."""
    from django.conf import settings

    path = Path(settings.VAR_DIR) / "core-stream" / f"{job}.json"
    return json.loads(path.read_text()) if path.exists() else {"written": 0, "ended": None}


def launch(args: list[str], env: dict[str, str], log: Path, ready: str, what: str) -> Process:
    """Start a child process and wait until its output shows ``ready``; fail the test if it dies."""
    proc = Process(args, env, log)
    wait_until(lambda: ready in proc.output() or proc.popen.poll() is not None, 60, what=f"{what} to start")
    if proc.popen.poll() is not None:
        proc.stop()
        pytest.fail(f"{what} exited:\n{proc.output()}")
    return proc


def wait_until(predicate: Callable[[], object], timeout: float = 30, interval: float = 0.1,
               what: str | Callable[[], str] = "") -> None:
    """Poll ``predicate``; ``what`` (or what it returns, read at the timeout) names it in the failure."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {(what() if callable(what) else what) or predicate}")


def flush_redis(url: str, prefix: str = "") -> None:
    """Delete this run's broker keys (``prefix*``), or the whole database without a prefix."""
    import redis

    client = redis.Redis.from_url(url)
    if not prefix:
        client.flushdb()
        return
    keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def broker_url() -> str:
    """The broker of the test settings (Redis db 9), emptied before the test."""
    from django.conf import settings

    url = settings.CELERY_BROKER_URL
    if url.startswith("redis://"):
        require_service("Redis", "127.0.0.1", 6379)
        flush_redis(url, settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", ""))
    return str(url)


@pytest.fixture
def start_worker(transactional_db: None, tmp_path: Path, broker_url: str) -> Iterator[Callable[..., Process]]:
    """Start real ``celery -A project worker`` processes; all are stopped after the test."""
    started: list[Process] = []

    def start(name: str = "w1", concurrency: int = 2, broker: str | None = None, queues: str | None = None,
              wait: bool = True, options: Sequence[str] = (), **env: str) -> Process:
        args = [sys.executable, "-m", "celery", "-A", "project", "worker", "--loglevel", "INFO",
                "--concurrency", str(concurrency), "--hostname", f"{name}@%h", "--without-gossip",
                "--without-mingle", "--prefetch-multiplier", "1", *options]
        if queues:
            args += ["--queues", queues]
        environment = child_env(CELERY_BROKER_URL=broker or broker_url, MOTIA_WORKER_NAME=name, **env)
        log = tmp_path / f"worker-{name}-{len(started)}.log"
        proc = (launch(args, environment, log, " ready.", f"worker {name}") if wait
                else Process(args, environment, log))
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()
