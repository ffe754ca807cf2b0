"""HTTP overhead: requests/s of a trivial HTTP step vs plain Django views.

Starts one real server process (uvicorn, 1 worker, by default) on a free
127.0.0.1 port, serving three routes from the same settings and middleware:

* ``GET /bench/step``  -- a Motia step returning ``{"message": "hello"}``
* ``GET /bench/async`` -- a plain async Django view returning the same JSON
* ``GET /bench/sync``  -- a plain sync Django view returning the same JSON

Each route gets a bounded number of requests per round; rounds interleave the
routes (rotating the order) and the table reports the median over rounds.  The
ratio compares the step against the faster of the two plain views.

The load comes from ``wrk`` when it is installed (``apt-get install wrk``),
otherwise from a small asyncio keep-alive client run in a separate process.
Loopback only.  Usage::

    python bench/http_overhead.py [--requests N] [--concurrency C] [--server uvicorn|wsgi]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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
TARGET_RATIO = 0.85
EXPECTED_BODY = {"message": "hello"}
ROUTES: dict[str, str] = {
    "step": "/bench/step",
    "async view": "/bench/async",
    "sync view": "/bench/sync",
}
STEP_ROUTE = "step"
BASELINES = ("async view", "sync view")

# -- generated project ---------------------------------------------------------------------

STEP_FILE = '''\
"""The benchmarked step: the smallest HTTP step there is."""

from __future__ import annotations

from typing import Any

from motia import ApiResponse, http, step


async def handler(req: Any, ctx: Any) -> ApiResponse:
    return ApiResponse(status=200, body={"message": "hello"})


bench = step({"name": "bench-http", "triggers": [http("GET", "/bench/step")]}, handler)
'''

SETTINGS_FILE = '''\
"""Benchmark settings: the example project (same apps), DEBUG off, one middleware for every route."""

from __future__ import annotations

import os

os.environ.setdefault("MOTIA_VAR_DIR", {var_dir!r})

from project.settings import *  # noqa: E402,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "{package}.urls"
ASGI_APPLICATION = "{package}.asgi.application"
WSGI_APPLICATION = "{package}.wsgi.application"
MOTIA = {{"STEPS_DIRS": [{steps_dir!r}], "TRACING": os.environ.get("BENCH_TRACING", "1") == "1"}}
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

from django.http import HttpRequest, JsonResponse
from django.urls import include, path


async def async_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "hello"})


def sync_view(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"message": "hello"})


urlpatterns = [
    path("bench/async", async_view),
    path("bench/sync", sync_view),
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


# -- server ---------------------------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def pinned(command: list[str], cpu: int | None) -> list[str]:
    """``command`` run under ``taskset`` on one CPU (unchanged when ``cpu`` is None or taskset is missing)."""
    taskset = shutil.which("taskset")
    return command if cpu is None or taskset is None else [taskset, "-c", str(cpu), *command]


def server_command(kind: str, port: int, concurrency: int) -> list[str]:
    """The command line starting the server of ``kind`` on ``port``."""
    if kind == "uvicorn":
        return [
            sys.executable, "-m", "uvicorn", f"{SITE_PACKAGE}.asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
            "--no-access-log", "--log-level", "warning", "--backlog", "2048",
        ]
    return [
        sys.executable, "-m", "gunicorn", f"{SITE_PACKAGE}.wsgi:application",
        "--bind", f"127.0.0.1:{port}", "--workers", "1", "--worker-class", "gthread",
        "--threads", str(max(4, concurrency)), "--keep-alive", "30", "--log-level", "warning",
    ]


@dataclass
class Server:
    """The server process started by this script, and its port."""

    child: ChildProcess
    port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def start_server(kind: str, site: Path, workdir: Path, concurrency: int, cpu: int | None) -> Server:
    """Start the server and wait until every route answers ``{"message": "hello"}``."""
    port = free_port()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(site), str(REPO_ROOT), env.get("PYTHONPATH")) if p)
    env["DJANGO_SETTINGS_MODULE"] = f"{SITE_PACKAGE}.settings"
    env["PYTHONUNBUFFERED"] = "1"
    # the execution records written while tracing is on need their tables
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0", "--skip-checks"], cwd=workdir, env=env,
                   check=True)
    child = ChildProcess(pinned(server_command(kind, port, concurrency), cpu), log=workdir / "server.log",
                         cwd=workdir, env=env, name="server")
    child.wait_until_ready(routes_answer(port), interval=0.2)
    return Server(child, port)


def routes_answer(port: int) -> Callable[[ChildProcess], bool]:
    """A readiness test: every route has answered the expected JSON (a wrong answer raises)."""
    pending = dict(ROUTES)

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


def summarize(samples: dict[str, list[Sample]]) -> dict[str, dict[str, float | None]]:
    """Median over rounds of requests/s and latencies, per route."""
    result: dict[str, dict[str, float | None]] = {}
    for name, runs in samples.items():
        p50 = [s.p50_ms for s in runs if s.p50_ms is not None]
        p99 = [s.p99_ms for s in runs if s.p99_ms is not None]
        rates = [s.rps for s in runs]
        result[name] = {
            "rps": statistics.median(rates),
            "min": min(rates),
            "max": max(rates),
            "p50": statistics.median(p50) if p50 else None,
            "p99": statistics.median(p99) if p99 else None,
        }
    return result


def per_round_ratio(samples: dict[str, list[Sample]]) -> float:
    """Median over rounds of step / faster baseline within the same round."""
    ratios = [
        step.rps / max(samples[name][index].rps for name in BASELINES)
        for index, step in enumerate(samples[STEP_ROUTE])
    ]
    return statistics.median(ratios)


def render(summary: dict[str, dict[str, float | None]]) -> tuple[str, str]:
    """The markdown table and the ratio line."""
    lines = [
        "| route | requests/s (median) | min–max over rounds | p50 latency | p99 latency |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, path in ROUTES.items():
        row = summary[name]
        lines.append(
            f"| {name} `{path}` | {row['rps']:.0f} | {row['min']:.0f}–{row['max']:.0f} "
            f"| {fmt_ms(row['p50'])} | {fmt_ms(row['p99'])} |"
        )
    best = max(BASELINES, key=lambda n: summary[n]["rps"] or 0.0)
    ratio = (summary[STEP_ROUTE]["rps"] or 0.0) / (summary[best]["rps"] or 1.0)
    verdict = "met" if ratio >= TARGET_RATIO else f"NOT met: {ratio:.3f}"
    ratio_line = (
        f"ratio step/baseline = {ratio:.2f} (target >= {TARGET_RATIO:.2f}; {verdict}; "
        f"baseline = the faster plain view, here the {best})"
    )
    return "\n".join(lines), ratio_line


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=5000, help="requests per route per round (default 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="open connections (default 32)")
    parser.add_argument("--server", choices=("uvicorn", "wsgi"), default="uvicorn",
                        help="uvicorn (ASGI, 1 worker) or wsgi (gunicorn gthread, 1 worker, if installed)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=1000, help="warm-up requests per route (default 1000)")
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    parser.add_argument("--python-client", action="store_true", help="use the Python client even if wrk exists")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--no-pin", action="store_true", help="do not pin server and client to separate CPUs")
    parser.add_argument("--tracing", choices=("on", "off"), default="on",
                        help="MOTIA['TRACING'] in the server (default on: HTTP executions are recorded)")
    args = parser.parse_args(argv)
    if args.requests < 1 or args.concurrency < 1 or args.rounds < 1 or args.warmup < 0:
        parser.error("--requests, --concurrency and --rounds must be positive, --warmup non-negative")
    return args


def find_wrk(disabled: bool) -> str | None:
    """Path of wrk, preferring /usr/bin/wrk, unless the Python client was asked for."""
    if disabled:
        return None
    return "/usr/bin/wrk" if Path("/usr/bin/wrk").exists() else shutil.which("wrk")


def measure(args: argparse.Namespace, workdir: Path, wrk: str | None,
            cpus: tuple[int | None, int | None]) -> dict[str, list[Sample]]:
    """Start the server, warm up, run the interleaved rounds, stop the server."""
    paths = write_project(workdir)
    server_cpu, client_cpu = cpus

    def load(url: str, requests: int) -> Sample:
        if wrk:
            return run_wrk(wrk, paths["lua"], url, requests, args.concurrency, args.wrk_threads, client_cpu)
        return run_python_client(url, requests, args.concurrency, client_cpu)

    names = list(ROUTES)
    samples: dict[str, list[Sample]] = {name: [] for name in names}
    server = start_server(args.server, paths["site"], workdir, args.concurrency, server_cpu)
    try:
        for name in names if args.warmup else ():
            load(server.url(ROUTES[name]), args.warmup)
        for index in range(args.rounds):
            shift = index % len(names)
            cells = []
            for name in names[shift:] + names[:shift]:
                sample = load(server.url(ROUTES[name]), args.requests)
                if sample.errors:
                    raise RuntimeError(f"{sample.errors} failed requests on {ROUTES[name]}")
                samples[name].append(sample)
                cells.append(f"{name} {sample.rps:.0f}/s")
            print(f"  round {index + 1}: " + ", ".join(cells), flush=True)
    except BaseException:
        server.child.stop()
        print(f"server log:\n{server.child.tail()}", file=sys.stderr)
        raise
    finally:
        server.child.stop()
    return samples


def main(argv: list[str]) -> int:
    """Run the benchmark and print the table; 0 on success (whatever the ratio)."""
    args = parse_args(argv)
    if args.client:
        client_main(args.client, args.requests, args.concurrency)
        return 0
    if args.server == "wsgi" and importlib.util.find_spec("gunicorn") is None:
        print("gunicorn is not installed: skipping --server wsgi (pip install gunicorn to enable it)")
        return 0
    import django

    os.environ["BENCH_TRACING"] = "1" if args.tracing == "on" else "0"
    wrk = find_wrk(args.python_client)
    available = sorted(os.sched_getaffinity(0))
    cpus: tuple[int | None, int | None] = (
        (available[0], available[1]) if len(available) >= 2 and not args.no_pin else (None, None)
    )
    server_label = ("uvicorn (ASGI, 1 worker, no access log)" if args.server == "uvicorn"
                    else "gunicorn (WSGI, 1 gthread worker)")
    client_label = f"wrk ({wrk}, {args.wrk_threads} thread)" if wrk else "asyncio keep-alive client process"
    pinned = f", server pinned to CPU {cpus[0]}, client to CPU {cpus[1]}" if cpus[0] is not None else ""
    print(f"server: {server_label}; client: {client_label}")
    print(f"python {sys.version.split()[0]}, Django {django.get_version()}, {os.cpu_count()} CPUs{pinned}")
    print(f"{args.rounds} rounds x {len(ROUTES)} routes x {args.requests} requests, "
          f"concurrency {args.concurrency}, warm-up {args.warmup} per route")
    with tempfile.TemporaryDirectory(prefix="motia-bench-http-") as tmp:
        samples = measure(args, Path(tmp), wrk, cpus)
    table, ratio_line = render(summarize(samples))
    print(f"\n{table}\n\n{ratio_line}")
    print(f"(median of the per-round ratios: {per_round_ratio(samples):.2f})")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except KeyboardInterrupt:
        sys.exit(130)
