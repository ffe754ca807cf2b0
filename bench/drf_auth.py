"""DRF policies on an HTTP step against a DRF ``APIView`` with the same classes, in one uvicorn process.

Every route authenticates with DRF's ``TokenAuthentication`` and requires
``IsAuthenticated`` (one token row, looked up on every request, as an API would):

* ``/bench/drf``        -- an ``APIView`` returning ``Response({"message": "hello"})``
* ``/bench/step-sync``  -- an HTTP step with a sync handler returning the same
* ``/bench/step-async`` -- the same with an async handler

A generated project (the example project's settings, ``DEBUG = False``, tracing
on, SQLite) is served by one uvicorn worker pinned to CPU 0, the load generator
(keep-alive connections, in this process) on CPU 1.  Each round measures every
route between two measurements of the ``APIView`` (``B R B``); a route's ratio is
against the mean of those, and the table reports medians over rounds.  Usage::

    python bench/drf_auth.py [--requests N] [--rounds R] [--concurrency C]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from http_overhead import free_port, pinned

from motia_django.testing.processes import ChildProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
SITE_PACKAGE = "drf_bench_site"
TARGET_RATIO = 0.9
BASELINE = "DRF APIView"
ROUTES = {BASELINE: "/bench/drf", "step, sync handler": "/bench/step-sync", "step, async handler": "/bench/step-async"}

STEP_FILE = '''\
from __future__ import annotations

from typing import Any

from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated

from motia import ApiResponse, http, step

POLICY = {"authentication_classes": [TokenAuthentication], "permission_classes": [IsAuthenticated]}


def sync_handler(req: Any, ctx: Any) -> ApiResponse:
    return ApiResponse(status=200, body={"message": "hello"})


async def async_handler(req: Any, ctx: Any) -> ApiResponse:
    return ApiResponse(status=200, body={"message": "hello"})


sync_step = step({"name": "bench-sync", "triggers": [http("GET", "/bench/step-sync", **POLICY)]}, sync_handler)
async_step = step({"name": "bench-async", "triggers": [http("GET", "/bench/step-async", **POLICY)]}, async_handler)
'''

SETTINGS_FILE = '''\
from __future__ import annotations

import os

os.environ.setdefault("MOTIA_VAR_DIR", {var_dir!r})
os.environ.setdefault("DJANGO_DEBUG", "1")

from project.settings import *  # noqa: E402,F403

DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework.authtoken"]  # noqa: F405
ROOT_URLCONF = "{package}.urls"
SILENCED_SYSTEM_CHECKS = ["motia.W022"]  # one process: the in-memory channel layer is fine
MOTIA = {{"STEPS_DIRS": [{steps_dir!r}], "TRACING": True}}
LOGGING = {{"version": 1, "disable_existing_loggers": False,
           "loggers": {{"motia": {{"level": "WARNING"}}}}}}
'''

URLS_FILE = '''\
from __future__ import annotations

from django.urls import include, path
from rest_framework.authentication import TokenAuthentication
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class Hello(APIView):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        return Response({"message": "hello"})


urlpatterns = [path("bench/drf", Hello.as_view()), path("", include("motia_django.urls"))]
'''

ASGI_FILE = '''\
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "{package}.settings")
application = get_asgi_application()
'''

TOKEN_SCRIPT = (
    "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
    "print(Token.objects.create(user=User.objects.create_user('bench')).key)"
)


def write_project(root: Path) -> tuple[Path, dict[str, str]]:
    """The generated project under ``root``, and the environment serving it."""
    steps_dir, package = root / "steps", root / "site" / SITE_PACKAGE
    steps_dir.mkdir()
    package.mkdir(parents=True)
    (steps_dir / "bench_step.py").write_text(STEP_FILE)
    values = {"package": SITE_PACKAGE, "steps_dir": str(steps_dir), "var_dir": str(root / "var")}
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(SETTINGS_FILE.format(**values))
    (package / "urls.py").write_text(URLS_FILE)
    (package / "asgi.py").write_text(ASGI_FILE.format(**values))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join((str(package.parent), str(REPO_ROOT))),
               DJANGO_SETTINGS_MODULE=f"{SITE_PACKAGE}.settings", DATABASE_URL=f"sqlite:///{root / 'bench.sqlite3'}",
               CELERY_BROKER_URL="memory://", PYTHONUNBUFFERED="1")
    return package.parent, env


async def _connection(port: int, request: bytes, remaining: list[int], latencies: list[float],
                      errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while remaining[0] > 0:
            remaining[0] -= 1
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            errors[0] += not head.startswith(b"HTTP/1.1 200")
    finally:
        writer.close()


def measure(port: int, path: str, token: str, requests: int, concurrency: int) -> tuple[float, float, int]:
    """Requests/s, median latency (ms) and non-200 answers of ``requests`` authenticated GETs."""
    request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Token {token}\r\n"
               "Accept: */*\r\n\r\n").encode()
    remaining, latencies, errors = [requests], [], [0]

    async def run() -> None:
        await asyncio.gather(*(_connection(port, request, remaining, latencies, errors)
                               for _ in range(concurrency)))

    started = time.perf_counter()
    asyncio.run(run())
    seconds = time.perf_counter() - started
    return len(latencies) / seconds, statistics.median(latencies) * 1000, errors[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="drf-bench-") as tmp:
        root = Path(tmp)
        site, env = write_project(root)
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v0"], env=env, cwd=root, check=True)
        token = subprocess.run([sys.executable, "-m", "django", "shell", "-c", TOKEN_SCRIPT], env=env, cwd=root,
                               check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1]
        port = free_port()
        command = [sys.executable, "-m", "uvicorn", f"{SITE_PACKAGE}.asgi:application", "--host", "127.0.0.1",
                   "--port", str(port), "--workers", "1", "--no-access-log", "--log-level", "warning"]

        def answers(_: ChildProcess) -> bool:
            try:
                headers = {"Authorization": f"Token {token}"}
                return all(urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}{path}",
                                                                         headers=headers), timeout=2).status == 200
                           for path in ROUTES.values())
            except OSError:
                return False

        server = ChildProcess(pinned(command, 0), log=root / "uvicorn.log", cwd=root, env=env, name="uvicorn")
        try:
            server.wait_until_ready(answers, interval=0.2)
            if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
                os.sched_setaffinity(0, {1})
            for path in ROUTES.values():
                measure(port, path, token, args.requests // 5, args.concurrency)  # warm up
            rates: dict[str, list[float]] = {name: [] for name in ROUTES}
            latency: dict[str, list[float]] = {name: [] for name in ROUTES}
            ratios: dict[str, list[float]] = {name: [] for name in ROUTES if name != BASELINE}
            failures = 0
            for index in range(args.rounds):
                names = list(ratios)[index % 2:] + list(ratios)[:index % 2]
                before = measure(port, ROUTES[BASELINE], token, args.requests, args.concurrency)
                for name in names:
                    sample = measure(port, ROUTES[name], token, args.requests, args.concurrency)
                    after = measure(port, ROUTES[BASELINE], token, args.requests, args.concurrency)
                    for measured, rps, ms, errors in ((name, *sample), (BASELINE, *before)):
                        rates[measured].append(rps)
                        latency[measured].append(ms)
                        failures += errors
                    ratios[name].append(sample[0] / ((before[0] + after[0]) / 2))
                    before = after
        finally:
            server.stop()
    print(f"\n### Token + IsAuthenticated, uvicorn (1 worker), {args.requests} requests x {args.rounds} rounds, "
          f"{args.concurrency} connections\n")
    print("| route | requests/s | p50 ms | vs APIView |\n| --- | ---: | ---: | ---: |")
    for name in ROUTES:
        ratio = f"{statistics.median(ratios[name]):.2f}x" if name in ratios else "1.00x"
        print(f"| {name} | {statistics.median(rates[name]):,.0f} | {statistics.median(latency[name]):.2f} | {ratio} |")
    worst = min(statistics.median(values) for values in ratios.values())
    print(f"\nlowest ratio {worst:.2f} (target >= {TARGET_RATIO}; {'met' if worst >= TARGET_RATIO else 'NOT met'})"
          + (f"; {failures} requests were not 200" if failures else ""))
    return 0 if failures == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
