"""HTTP overhead: requests/s of HTTP steps against plain Django views and DRF, on three servers.

One invocation starts, one after another, the same generated project under
gunicorn with one sync worker, gunicorn with one gthread worker (8 threads) and
uvicorn (1 worker), each pinned to one CPU with the load generator on the
other.  Every server serves the same routes, with Django's default middleware
stack (as ``startproject`` writes it), ``DEBUG = False`` and tracing on:

* ``/bench/sync``  -- a plain sync view returning ``JsonResponse({"message": "hello"})``
* ``/bench/async`` -- the same as an ``async def`` view
* ``/bench/drf``   -- a DRF ``APIView`` returning ``Response({"message": "hello"})``
* ``/bench/step-sync``, ``/bench/step-async`` -- an HTTP step (sync or async handler) returning the same
* ``/bench/enqueue-view`` -- a plain view doing ``transaction.on_commit(noop.delay)``
* ``/bench/step-enqueue`` -- a sync HTTP step doing ``ctx.enqueue(...)`` once

Each round measures every route between two measurements of its baseline
(``B R B``: the plain sync view, or the ``on_commit`` view for the enqueueing
step), rotating the order from round to round; a ratio is the route against the
mean of the baseline just before and just after it, so a machine whose speed
drifts during the run (a shared VM) does not bias it.  The tables report the
medians over rounds.  The enqueueing routes need Redis (``--broker``); their queues are
emptied after each server.  ``--dev`` also measures a step under ``motia_dev``.
Loopback only.  Usage::

    python bench/http_overhead.py [--requests N] [--rounds R] [--servers gunicorn-sync,gunicorn-gthread,uvicorn]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motia_django.testing.processes import ChildProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGE = "http_bench_site"
TARGET_RATIO = 0.9
EXPECTED_BODY = {"message": "hello"}
ROUTES: dict[str, str] = {
    "sync view": "/bench/sync",
    "async view": "/bench/async",
    "DRF APIView": "/bench/drf",
    "step, sync handler": "/bench/step-sync",
    "step, async handler": "/bench/step-async",
    "view + on_commit(delay)": "/bench/enqueue-view",
    "step + enqueue": "/bench/step-enqueue",
}
PLAIN = "sync view"
STEPS = ("step, sync handler", "step, async handler")
ENQUEUE_PAIR = ("step + enqueue", "view + on_commit(delay)")
SERVERS = ("gunicorn-sync", "gunicorn-gthread", "uvicorn")
BROKER_DB = 14

# -- generated project ---------------------------------------------------------------------

STEP_FILE = '''\
"""The benchmarked steps: the smallest HTTP steps there are, and one that enqueues."""

from __future__ import annotations

from typing import Any

from motia import ApiResponse, http, queue, step


def sync_handler(req: Any, ctx: Any) -> ApiResponse:
    return ApiResponse(status=200, body={"message": "hello"})


async def async_handler(req: Any, ctx: Any) -> ApiResponse:
    return ApiResponse(status=200, body={"message": "hello"})


def enqueue_handler(req: Any, ctx: Any) -> ApiResponse:
    ctx.enqueue({"topic": "bench.noop", "data": {"n": 1}})
    return ApiResponse(status=200, body={"message": "hello"})


def consume(data: Any, ctx: Any) -> None:
    return None


sync_step = step({"name": "bench-sync", "triggers": [http("GET", "/bench/step-sync")]}, sync_handler)
async_step = step({"name": "bench-async", "triggers": [http("GET", "/bench/step-async")]}, async_handler)
enqueue_step = step({"name": "bench-enqueue", "triggers": [http("GET", "/bench/step-enqueue")],
                     "enqueues": ["bench.noop"]}, enqueue_handler)
consumer = step({"name": "bench-consumer", "triggers": [queue("bench.noop")]}, consume)
'''

SETTINGS_FILE = '''\
"""Benchmark settings: the example project (same apps, default middleware), DEBUG off, tracing on."""

from __future__ import annotations

import os

os.environ.setdefault("MOTIA_VAR_DIR", {var_dir!r})
os.environ.setdefault("DJANGO_DEBUG", "1")  # the example project's development defaults (hosts, no HTTPS)

from project.settings import *  # noqa: E402,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework"]  # noqa: F405
# what startproject writes
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "{package}.urls"
ASGI_APPLICATION = "{package}.asgi.application"
WSGI_APPLICATION = "{package}.wsgi.application"
MOTIA = {{"STEPS_DIRS": [{steps_dir!r}], "TRACING": os.environ.get("BENCH_TRACING", "1") == "1",
         "METRICS": os.environ.get("BENCH_METRICS", "1") == "1"}}
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
    "loggers": {{"motia": {{"handlers": ["console"], "level": "WARNING", "propagate": False}}}},
}}
'''

URLS_FILE = '''\
"""Baseline views first, then every HTTP step (its JSON 404 catch-all comes last)."""

from __future__ import annotations

from celery import shared_task
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


@shared_task(name="bench.noop", ignore_result=True)
def noop(n: int) -> None:
    return None


async def async_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "hello"})


def sync_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "hello"})


def enqueue_view(request: HttpRequest) -> JsonResponse:
    transaction.on_commit(lambda: noop.apply_async(args=(1,), queue="bench.raw"))
    return JsonResponse({"message": "hello"})


class Hello(APIView):
    def get(self, request: Request) -> Response:
        return Response({"message": "hello"})


urlpatterns = [
    path("bench/async", async_view),
    path("bench/sync", sync_view),
    path("bench/drf", Hello.as_view()),
    path("bench/enqueue-view", enqueue_view),
    path("", include("motia_django.urls")),
]
'''

ASGI_FILE = '''\
from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{package}.settings")
application = get_asgi_application()
'''

WSGI_FILE = '''\
from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{package}.settings")
application = get_wsgi_application()
'''

WRK_SCRIPT = '''\
-- each thread stops after its share of requests, timing itself with a monotonic clock;
-- the driver then interrupts wrk and done() prints one JSON summary line
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_us()
  ffi.C.clock_gettime(1, clock)
  return tonumber(clock.tv_sec) * 1000000 + tonumber(clock.tv_nsec) / 1000
end

local threads = {}
setup = function(thread) table.insert(threads, thread) end

limit = tonumber(os.getenv("BENCH_REQUESTS_PER_THREAD"))
count = 0
bad = 0
elapsed_us = -1
local started_us = 0

init = function(args) started_us = now_us() end

response = function(status, headers, body)
  count = count + 1
  if status ~= 200 then bad = bad + 1 end
  if count == limit then
    elapsed_us = now_us() - started_us
    io.write("bench-thread-done\\n")
    io.flush()
    wrk.thread:stop()
  end
end

done = function(summary, latency, requests)
  local n, failed, elapsed, capped = 0, 0, 0, false
  for _, t in ipairs(threads) do
    n = n + t:get("count")
    failed = failed + t:get("bad")
    local own = t:get("elapsed_us")
    if own < 0 then capped = true else elapsed = math.max(elapsed, own) end
  end
  if capped then elapsed = summary.duration end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "errors": %d, "capped": %s}\\n',
    n, elapsed, latency:percentile(50), latency:percentile(99),
    failed + e.connect + e.read + e.write + e.timeout, tostring(capped)))
end
'''


def write_project(root: Path) -> dict[str, Path]:
    """Generate the steps dir and the settings package under ``root``."""
    steps_dir = root / "steps"
    steps_dir.mkdir()
    (steps_dir / "bench_step.py").write_text(STEP_FILE)
    package = root / "site" / SITE_PACKAGE
    package.mkdir(parents=True)
    var_dir = root / "var"
    values = {"package": SITE_PACKAGE, "steps_dir": str(steps_dir), "var_dir": str(var_dir)}
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS_FILE.format(**values))
    (package / "urls.py").write_text(URLS_FILE)
    (package / "asgi.py").write_text(ASGI_FILE.format(**values))
    (package / "wsgi.py").write_text(WSGI_FILE.format(**values))
    (root / "bench.lua").write_text(WRK_SCRIPT)
    return {"site": package.parent, "steps": steps_dir, "lua": root / "bench.lua"}


# -- servers --------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """``command`` run under ``taskset`` on one CPU (unchanged when ``cpu`` is None or taskset is missing)."""
    taskset = shutil.which("taskset")
    return command if cpu is None or taskset is None else [taskset, "-c", str(cpu), *command]


def server_command(kind: str, port: int) -> list[str]:
    """The command line starting the server of ``kind`` on ``port``."""
    if kind == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", f"{SITE_PACKAGE}.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--no-access-log", "--log-level", "warning", "--backlog", "2048",
        ]
    if kind == "motia_dev":
        return [sys.executable, "-m", "django", "motia_dev", "--port", str(port), "--no-worker", "--no-beat"]
    worker_class = kind.split("-", 1)[1]
    command = [
        sys.executable, "-m", "gunicorn", f"{SITE_PACKAGE}.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", "1", "--worker-class", worker_class, "--keep-alive", "30", "--log-level", "warning",
        "--backlog", "2048",
    ]
    return [*command, "--threads", "8"] if worker_class == "gthread" else command


@dataclass
class Server:
    """The server process started by this script, and its port."""

    child: ChildProcess
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def site_env(site: Path, broker: str, database: str | None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["DJANGO_SETTINGS_MODULE"] = f"{SITE_PACKAGE}.settings"
    env["PYTHONUNBUFFERED"] = "1"
    env["CELERY_BROKER_URL"] = broker
    if database:
        env["DATABASE_URL"] = database
    return env


def start_server(kind: str, site: Path, workdir: Path, env: dict[str, str], cpu: int | None,
                 routes: dict[str, str]) -> Server:
    """Start the server and wait until every route answers ``{"message": "hello"}``."""
    port = free_port()
    child = ChildProcess(pinned(server_command(kind, port), cpu), log=workdir / f"{kind}.log", cwd=workdir, env=env,
                         name=kind)
    child.wait_until_ready(routes_answer(port, routes), interval=0.2)
    return Server(child, port)


def routes_answer(port: int, routes: dict[str, str]) -> Callable[[ChildProcess], bool]:
    """A readiness test: every route has answered the expected JSON (a wrong answer raises)."""
    pending = dict(routes)

    def ready(child: ChildProcess) -> bool:
        for name, path in list(pending.items()):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as reply:
                    body = json.loads(reply.read())
            except (OSError, ValueError):
                return False
            if reply.status != 200 or body != EXPECTED_BODY:
                raise RuntimeError(f"{path} answered {reply.status} {body!r}")
            del pending[name]
        return True

    return ready


def empty_queues(broker: str) -> None:
    """Drop the messages the enqueueing routes left (nothing consumes them here)."""
    import redis

    client = redis.Redis.from_url(broker)
    client.flushdb()


# -- clients --------------------------------------------------------------------------------


@dataclass
class Sample:
    """One measured batch of requests against one route."""

    requests: int
    seconds: float
    p50_ms: float | None
    p99_ms: float | None
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def run_wrk(wrk: str, lua: Path, url: str, requests: int, concurrency: int, threads: int,
            cpu: int | None) -> Sample:
    """Send ``requests`` requests with wrk (time-capped as well) and parse its summary.

    wrk only knows durations: the Lua script stops each thread after its share and
    reports it on stdout, and the driver then interrupts wrk so it prints its summary.
    """
    threads = max(1, min(threads, concurrency))
    env = dict(os.environ, BENCH_REQUESTS_PER_THREAD=str(max(1, requests // threads)))
    cap = max(10, requests // 100)  # seconds; a bound, never reached at >= 100 req/s
    process = subprocess.Popen(
        pinned([wrk, f"-t{threads}", f"-c{concurrency}", f"-d{cap}s", "--timeout", "10s", "-s", str(lua), url], cpu),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert process.stdout is not None
        finished = 0
        while finished < threads:
            line = process.stdout.readline()
            if not line:
                break  # wrk ended on its own (time cap or error)
            finished += line.strip() == "bench-thread-done"
        if finished == threads and process.poll() is None:
            os.kill(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
    if process.returncode != 0:
        raise RuntimeError(f"wrk failed ({process.returncode}): {err or out}")
    summary = next((x for x in reversed(out.splitlines()) if x.startswith("{")), None)
    if summary is None:
        raise RuntimeError(f"no summary from wrk:\n{out}{err}")
    data = json.loads(summary)
    if data["capped"]:
        print(f"  warning: wrk hit its {cap}s cap on {url}", file=sys.stderr)
    return Sample(data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1000, data["p99_us"] / 1000,
                  data["errors"])


def run_python_client(url: str, requests: int, concurrency: int, cpu: int | None) -> Sample:
    """Send ``requests`` requests from a separate Python process (see ``client_main``)."""
    done = subprocess.run(
        pinned([sys.executable, __file__, "--client", url, "--requests", str(requests),
                "--concurrency", str(concurrency)], cpu),
        check=False, capture_output=True, text=True, timeout=max(60, requests // 50),
    )
    if done.returncode != 0:
        raise RuntimeError(f"client failed ({done.returncode}): {done.stderr}")
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(data["requests"], data["seconds"], data["p50_ms"], data["p99_ms"], data["errors"])


async def _client_connection(host: str, port: int, request: bytes, counter: list[int], total: int,
                             latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while counter[0] < total:
            counter[0] += 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = 0
            for line in head.split(b"\r\n")[1:]:
                name, _, value = line.partition(b":")
                if name.strip().lower() == b"content-length":
                    length = int(value)
            if length:
                await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors[0] += 1
    finally:
        writer.close()


async def _client_run(url: str, requests: int, concurrency: int) -> dict[str, Any]:
    parsed = urllib.parse.urlsplit(url)
    host, port = parsed.hostname or "127.0.0.1", parsed.port or 80
    request = f"GET {parsed.path} HTTP/1.1\r\nHost: {parsed.netloc}\r\nAccept: */*\r\n\r\n".encode()
    counter: list[int] = [0]
    errors: list[int] = [0]
    latencies: list[float] = []
    started = time.perf_counter()
    await asyncio.wait_for(
        asyncio.gather(*(_client_connection(host, port, request, counter, requests, latencies, errors)
                         for _ in range(concurrency))),
        timeout=max(60, requests // 50),
    )
    seconds = time.perf_counter() - started
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    return {"requests": len(latencies), "seconds": seconds, "p50_ms": pct(0.50), "p99_ms": pct(0.99),
            "errors": errors[0]}


def client_main(url: str, requests: int, concurrency: int) -> None:
    """Entry of the separate client process: print one JSON summary line."""
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_client_run(url, requests, concurrency))))


# -- benchmark ------------------------------------------------------------------------------


def fmt_ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} ms"


@dataclass
class Summary:
    """Median over rounds of one route on one server."""

    rps: float
    low: float
    high: float
    p50: float | None
    p99: float | None


def summarize(runs: list[Sample]) -> Summary:
    p50 = [s.p50_ms for s in runs if s.p50_ms is not None]
    p99 = [s.p99_ms for s in runs if s.p99_ms is not None]
    rates = [s.rps for s in runs]
    return Summary(statistics.median(rates), min(rates), max(rates),
                   statistics.median(p50) if p50 else None, statistics.median(p99) if p99 else None)


def verdict(ratio: float) -> str:
    return "met" if ratio >= TARGET_RATIO else "NOT met"


BASELINE_OF = {route: (ENQUEUE_PAIR[1] if route == ENQUEUE_PAIR[0] else PLAIN)
               for route in ROUTES if route not in (PLAIN, ENQUEUE_PAIR[1])}


@dataclass
class Measured:
    """One server's samples per route, and each route's ratios to its baseline (one per round)."""

    samples: dict[str, list[Sample]]
    ratios: dict[str, list[float]]


def render(results: dict[str, Measured]) -> str:
    """The tables and the ratio lines for every server measured."""
    servers = list(results)
    out = ["| route | " + " | ".join(f"{s} req/s" for s in servers) + " |",
           "| --- | " + " | ".join("---:" for _ in servers) + " |"]
    summaries = {s: {r: summarize(runs) for r, runs in results[s].samples.items() if runs} for s in servers}
    for route, path in ROUTES.items():
        cells = []
        for server in servers:
            row = summaries[server].get(route)
            cells.append("n/a" if row is None else f"{row.rps:.0f} ({row.low:.0f}–{row.high:.0f})")
        out.append(f"| {route} `{path}` | " + " | ".join(cells) + " |")
    out.append("")
    out.append("| ratio to its baseline, median over rounds (min–max) | " + " | ".join(servers) + " |")
    out.append("| --- | " + " | ".join("---:" for _ in servers) + " |")
    checks: list[tuple[str, str, str]] = [*((step, PLAIN, f"{step} / sync view") for step in STEPS),
                                          ("DRF APIView", PLAIN, "DRF APIView / sync view"),
                                          (*ENQUEUE_PAIR, "step + enqueue / view + on_commit(delay)")]
    for route, _, label in checks:
        cells = []
        for server in servers:
            ratios = results[server].ratios.get(route)
            if not ratios:
                cells.append("n/a")
                continue
            ratio = statistics.median(ratios)
            mark = "" if route == "DRF APIView" else f" {verdict(ratio)}"
            cells.append(f"{ratio:.2f} ({min(ratios):.2f}–{max(ratios):.2f}){mark}")
        out.append(f"| {label} | " + " | ".join(cells) + " |")
    best_step = max(((s, r) for s in servers for r in STEPS), key=lambda k: summaries[k[0]][k[1]].rps)
    best_plain = max(servers, key=lambda s: summaries[s][PLAIN].rps)
    ratio = summaries[best_step[0]][best_step[1]].rps / summaries[best_plain][PLAIN].rps
    out.append("")
    out.append(f"fastest step route: {best_step[1]} on {best_step[0]}, {summaries[best_step[0]][best_step[1]].rps:.0f}"
               f" req/s; fastest plain view: {best_plain}, {summaries[best_plain][PLAIN].rps:.0f} req/s; "
               f"ratio {ratio:.2f} (target >= {TARGET_RATIO}; {verdict(ratio)})")
    out.append("")
    out.append("| latency p50 / p99 | " + " | ".join(servers) + " |")
    out.append("| --- | " + " | ".join("---:" for _ in servers) + " |")
    for route in ROUTES:
        cells = []
        for server in servers:
            row = summaries[server].get(route)
            cells.append("n/a" if row is None else f"{fmt_ms(row.p50)} / {fmt_ms(row.p99)}")
        out.append(f"| {route} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1500, help="requests per sample (default 1500)")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--servers", default=",".join(SERVERS),
                        help=f"comma-separated, from {', '.join(SERVERS)} (default: all)")
    parser.add_argument("--rounds", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=1000, help="warm-up requests per route (default 1000)")
    parser.add_argument("--broker", default=f"redis://127.0.0.1:6379/{BROKER_DB}",
                        help=f"Redis for the enqueueing routes (default db {BROKER_DB}, emptied by the script)")
    parser.add_argument("--database-url", default=None,
                        help="a scratch database for the execution records (default: SQLite in a temporary folder)")
    parser.add_argument("--dev", action="store_true", help="also measure a step under motia_dev")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate CPUs")
    parser.add_argument("--tracing", choices=("on", "off"), default="on",
                        help="MOTIA['TRACING'] in the server (default on: HTTP executions are recorded)")
    parser.add_argument("--metrics", choices=("on", "off"), default="on",
                        help="MOTIA['METRICS'] in the server (default on: Prometheus series are updated)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --rounds must be positive, --warmup non-negative")
    args.server_list = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = sorted(set(args.server_list) - set(SERVERS))
    if unknown:
        parser.error(f"unknown server(s): {', '.join(unknown)}")
    return args


def find_wrk(disabled: bool) -> str | None:
    """Path of wrk, preferring /usr/bin/wrk, unless the Python client was asked for."""
    if disabled:
        return None
    return "/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else shutil.which("wrk")


class Bench:
    """The generated project, and how load is sent to one of its servers."""

    def __init__(self, args: argparse.Namespace, workdir: Path, wrk: str | None,
                 cpus: tuple[int | None, int | None]) -> None:
        self.args = args
        self.workdir = workdir
        self.wrk = wrk
        self.server_cpu, self.client_cpu = cpus
        self.paths = write_project(workdir)
        self.env = site_env(self.paths["site"], args.broker, args.database_url)
        # the execution records written while tracing is on need their tables
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0", "--skip-checks"], cwd=workdir,
                       env=self.env, check=True)

    def load(self, url: str, requests: int) -> Sample:
        if self.wrk:
            return run_wrk(self.wrk, self.paths["lua"], url, requests, self.args.concurrency, self.args.wrk_threads,
                           self.client_cpu)
        return run_python_client(url, requests, self.args.concurrency, self.client_cpu)

    def measure(self, kind: str, routes: dict[str, str], rounds: int) -> Measured:
        """Start one server, warm up, run the rounds of ``B R B`` triples, stop the server."""
        paired = [r for r in routes if r in BASELINE_OF]
        result = Measured({name: [] for name in routes}, {name: [] for name in paired})
        server = start_server(kind, self.paths["site"], self.workdir, self.env, self.server_cpu, routes)

        def sample(name: str) -> Sample:
            taken = self.load(server.url(routes[name]), self.args.requests)
            if taken.errors:
                raise RuntimeError(f"{taken.errors} failed requests on {routes[name]}")
            result.samples[name].append(taken)
            return taken

        try:
            for name in routes if self.args.warmup else ():
                self.load(server.url(routes[name]), self.args.warmup)
            for index in range(rounds):
                shift = index % len(paired)
                cells = []
                for name in paired[shift:] + paired[:shift]:
                    baseline = BASELINE_OF[name]
                    before, taken, after = sample(baseline), sample(name), sample(baseline)
                    ratio = taken.rps / ((before.rps + after.rps) / 2)
                    result.ratios[name].append(ratio)
                    cells.append(f"{name} {taken.rps:.0f}/s ({ratio:.2f})")
                print(f"  {kind} round {index + 1}: " + ", ".join(cells), flush=True)
        except BaseException:
            server.child.stop()
            print(f"server log:\n{server.child.tail()}", file=sys.stderr)
            raise
        finally:
            server.child.stop()
            empty_queues(self.args.broker)
        return result


def main(argv: list[str]) -> int:
    """Run the benchmark and print the tables; 0 on success (whatever the ratios)."""
    args = parse_args(argv)
    if args.client:
        client_main(args.client, args.requests, args.concurrency)
        return 0
    import django

    os.environ["BENCH_TRACING"] = "1" if args.tracing == "on" else "0"
    os.environ["BENCH_METRICS"] = "1" if args.metrics == "on" else "0"
    wrk = find_wrk(args.python_client)
    available = sorted(os.sched_getaffinity(0))
    cpus: tuple[int | None, int | None] = (
        (available[0], available[1]) if len(available) >= 2 and not args.no_pin else (None, None)
    )
    client_label = f"wrk ({wrk}, {args.wrk_threads} thread)" if wrk else "asyncio keep-alive client process"
    pinned_label = f", server pinned to CPU {cpus[0]}, client to CPU {cpus[1]}" if cpus[0] is not None else ""
    print(f"servers: {', '.join(args.server_list)}; client: {client_label}")
    print(f"python {sys.version.split()[0]}, Django {django.get_version()}, {os.cpu_count()} CPUs{pinned_label}")
    database = (args.database_url or "sqlite").split("://")[0]
    print(f"{args.rounds} rounds of B R B samples of {args.requests} requests, concurrency {args.concurrency}, "
          f"warm-up {args.warmup} per route, tracing {args.tracing}, metrics {args.metrics}, database {database}")
    with tempfile.TemporaryDirectory(prefix="motia-bench-http-") as tmp:
        bench = Bench(args, Path(tmp), wrk, cpus)
        results = {kind: bench.measure(kind, ROUTES, args.rounds) for kind in args.server_list}
        print(f"\n{render(results)}")
        if args.dev:
            dev_routes = {PLAIN: ROUTES[PLAIN], "step, sync handler": ROUTES["step, sync handler"],
                          "step, async handler": ROUTES["step, async handler"]}
            dev = bench.measure("motia_dev", dev_routes, 3)
            rates = ", ".join(f"{name} {summarize(runs).rps:.0f} req/s" for name, runs in dev.samples.items())
            ratios = ", ".join(f"{name} {statistics.median(values):.2f}" for name, values in dev.ratios.items())
            print(f"\nunder motia_dev (uvicorn with reload, one process): {rates}; ratios to the sync view: {ratios}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
