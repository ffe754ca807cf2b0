"""TypeScript steps against the same Python steps: HTTP and queue throughput, and the bridge's cost per call.

    python bench/tsjs.py [--requests 3000] [--messages 2000] [--rounds 3] [--concurrency 16] [--calls 3000]

One project holds a Python and a TypeScript HTTP step (``GET /bench/py``, ``GET /bench/ts``, each
answering ``{"ok": true}``) and a Python and a TypeScript queue step that each make one
``ctx.state.set`` per message (the TypeScript one goes back to Python for it, as any context call
does).  HTTP: one uvicorn process, an asyncio client with ``--concurrency`` connections; queue: one
worker (prefork, concurrency 2), N messages published, rate to the last state row.  Rounds alternate
Python and TypeScript; ratios are the median of the rounds' TypeScript / Python ratios.  The bridge
line is a no-op handler called ``--calls`` times through the Node worker from this process, one after
the other: the per-call cost a TypeScript step adds to the same work in Python.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx

from motia_django.testing.processes import ChildProcess

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

SETTINGS = '''
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "bench"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
USE_TZ = True
ROOT_URLCONF = "motia_django.urls"
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_celery_beat", "motia_django"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(BASE_DIR.parent / "bench.sqlite3"),
                         "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                                     "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}}}
CELERY_BROKER_URL = %(redis)r
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
MOTIA = {"STEPS_DIRS": [str(BASE_DIR / "steps")]}
LOGGING = {"version": 1, "loggers": {"motia": {"level": "WARNING"}, "django": {"level": "ERROR"}}}
'''

CELERY_APP = '''
import os
from celery import Celery
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchapp.settings")
app = Celery("benchapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
import motia_django  # noqa: E402
motia_django.init_app(app)
'''

ASGI = '''
import os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchapp.settings")
from django.core.asgi import get_asgi_application
application = get_asgi_application()
'''

PYTHON_STEPS = '''
from motia import http, queue, step


def answer(req, ctx):
    return {"status": 200, "body": {"ok": True}}


def record(data, ctx):
    ctx.state.set("bench-py", str(data["i"]), {"i": data["i"]})


http_step = step({"name": "BenchPyHttp", "triggers": [http("GET", "/bench/py")]}, answer)
queue_step = step({"name": "BenchPyQueue", "triggers": [queue("bench.py")]}, record)
'''

TS_STEPS = '''
import { http, queue, step } from 'motia'

export const httpStep = step({ name: 'BenchTsHttp', triggers: [http('GET', '/bench/ts')] },
  async () => ({ status: 200, body: { ok: true } }))

export const queueStep = step({ name: 'BenchTsQueue', triggers: [queue('bench.ts')] },
  async (data: { i: number }, { state }: any) => {
    await state.set('bench-ts', String(data.i), { i: data.i })
  })

export const noop = step({ name: 'BenchTsNoop', triggers: [queue('bench.noop')] }, async () => undefined)
'''

KINDS = ("py", "ts")


def write_project() -> Path:
    base = Path(tempfile.mkdtemp(prefix="motia-tsjs-bench-"))
    app = base / "benchapp"
    (app / "steps").mkdir(parents=True)
    (app / "__init__.py").write_text("from .celery_app import app as celery_app\n")
    (app / "settings.py").write_text(SETTINGS % {"redis": REDIS_URL})
    (app / "celery_app.py").write_text(CELERY_APP)
    (app / "asgi.py").write_text(ASGI)
    (app / "steps" / "bench_step.py").write_text(PYTHON_STEPS)
    (app / "steps" / "bench.step.ts").write_text(TS_STEPS)
    return base


def environment(base: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(base), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "benchapp.settings"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(base: Path, port: int) -> ChildProcess:
    server = ChildProcess([sys.executable, "-m", "uvicorn", "benchapp.asgi:application", "--port", str(port),
                           "--log-level", "warning", "--no-access-log"],
                          log=base / "uvicorn.log", cwd=base, env=environment(base))

    def answers(_: ChildProcess) -> bool:
        try:
            return all(httpx.get(f"http://127.0.0.1:{port}/bench/{k}", timeout=30).status_code == 200 for k in KINDS)
        except httpx.HTTPError:
            return False

    return server.wait_until_ready(answers, timeout=90, interval=0.3)


def start_worker(base: Path) -> ChildProcess:
    return ChildProcess(
        [sys.executable, "-m", "celery", "-A", "benchapp", "worker", "--loglevel", "WARNING", "--concurrency", "2",
         "--without-gossip", "--without-mingle", "--queues", "motia.bench.py,motia.bench.ts"],
        log=base / "worker.log", cwd=base, env=environment(base),
    )


async def _hammer(url: str, requests: int, concurrency: int) -> float:
    """Requests per second for ``requests`` GETs over ``concurrency`` kept-alive connections."""
    left = requests

    async def connection(client: httpx.AsyncClient) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            response = await client.get(url)
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {response.text[:200]}")

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        start = time.perf_counter()
        await asyncio.gather(*(connection(client) for _ in range(concurrency)))
        return requests / (time.perf_counter() - start)


def sequential_ms(url: str, samples: int) -> float:
    """Median milliseconds of one request at a time: the latency one call adds."""
    with httpx.Client(timeout=30) as client:
        times = []
        for _ in range(samples):
            start = time.perf_counter()
            client.get(url)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def median_ratio(rates: dict[str, list[float]]) -> float:
    """Rounds ran one kind after the other: each round's ratio compares runs made close in time."""
    return statistics.median(t / p for t, p in zip(rates["ts"], rates["py"], strict=True))


def run(args: argparse.Namespace) -> None:
    import django

    base = write_project()
    os.environ.update(environment(base))
    sys.path[:0] = [str(base), str(ROOT)]
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()  # no messages left from an earlier run
    from motia_django.models import StateEntry
    from motia_django.node.bridge import get_bridge
    from motia_django.queues.publisher import publish
    from motia_django.tracing import new_trace_id

    results: dict[str, Any] = {}
    port = free_port()
    server = start_server(base, port)
    try:
        for kind in KINDS:  # warm up both
            asyncio.run(_hammer(f"http://127.0.0.1:{port}/bench/{kind}", 300, args.concurrency))
        http_rates: dict[str, list[float]] = {k: [] for k in KINDS}
        for index in range(args.rounds):
            for kind in KINDS if index % 2 == 0 else KINDS[::-1]:
                url = f"http://127.0.0.1:{port}/bench/{kind}"
                http_rates[kind].append(asyncio.run(_hammer(url, args.requests, args.concurrency)))
        results["http"] = http_rates
        results["http_ms"] = {k: sequential_ms(f"http://127.0.0.1:{port}/bench/{k}", 300) for k in KINDS}
    finally:
        server.stop()

    def throughput(kind: str, n: int) -> float:
        group = f"bench-{kind}"
        StateEntry.objects.filter(group=group).delete()
        start = time.perf_counter()
        for i in range(n):
            publish(f"bench.{kind}", {"i": i}, new_trace_id(), None, "bench")
        deadline = time.monotonic() + 600
        while StateEntry.objects.filter(group=group).count() < n:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out waiting for {n} {kind} messages:\n{worker.tail()}")
            time.sleep(0.02)
        return n / (time.perf_counter() - start)

    worker = start_worker(base)
    try:
        time.sleep(4)
        for kind in KINDS:
            throughput(kind, 100)
        queue_rates: dict[str, list[float]] = {k: [] for k in KINDS}
        for index in range(args.rounds):
            for kind in KINDS if index % 2 == 0 else KINDS[::-1]:
                queue_rates[kind].append(throughput(kind, args.messages))
        results["queue"] = queue_rates
    finally:
        worker.stop(timeout=20)

    file = str((base / "benchapp" / "steps" / "bench.step.ts").resolve())
    bridge = get_bridge()
    call = {"file": file, "step": "BenchTsNoop", "part": "handler", "input": {"i": 0},
            "trigger": {"type": "queue", "index": 0, "topic": "bench.noop"}, "traceId": "bench"}
    for _ in range(200):
        bridge.request("call", call)
    times = []
    for _ in range(args.calls):
        start = time.perf_counter()
        bridge.request("call", call)
        times.append((time.perf_counter() - start) * 1e6)
    times.sort()
    render(args, results, times)


def render(args: argparse.Namespace, results: dict[str, Any], bridge_us: list[float]) -> None:
    http_rates, queue_rates, http_ms = results["http"], results["queue"], results["http_ms"]
    print(f"\n### Python and TypeScript steps, median of {args.rounds} rounds (uvicorn, 1 process; "
          f"1 worker, prefork, concurrency 2; Redis; SQLite)\n")
    print("| step | Python | TypeScript | TypeScript / Python |")
    print("| --- | ---: | ---: | ---: |")
    print(f"| HTTP `GET` no-op, req/s ({args.concurrency} connections) | {statistics.median(http_rates['py']):,.0f} | "
          f"{statistics.median(http_rates['ts']):,.0f} | **{median_ratio(http_rates):.2f}** |")
    print(f"| HTTP, one request at a time, p50 ms | {http_ms['py']:.2f} | {http_ms['ts']:.2f} | "
          f"+{http_ms['ts'] - http_ms['py']:.2f} ms |")
    print(f"| queue, one `ctx.state.set` per message, messages/s | {statistics.median(queue_rates['py']):,.0f} | "
          f"{statistics.median(queue_rates['ts']):,.0f} | **{median_ratio(queue_rates):.2f}** |")
    p50, p99 = bridge_us[len(bridge_us) // 2], bridge_us[int(len(bridge_us) * 0.99) - 1]
    print(f"\nbridge round trip, no-op handler, {args.calls} calls one after the other: "
          f"p50 {p50:.0f} µs, p99 {p99:.0f} µs")
    for name, rates in (("HTTP", http_rates), ("queue", queue_rates)):
        ratio = median_ratio(rates)
        verdict = "met" if ratio >= 0.5 else "NOT met"
        print(f"ratio TypeScript / Python, {name} = {ratio:.2f} (target >= 0.5; {verdict})")


def main() -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or ""),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--calls", type=int, default=3000)
    run(parser.parse_args())


if __name__ == "__main__":
    main()
