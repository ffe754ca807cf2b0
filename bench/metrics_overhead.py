"""Cost of the metrics seams: HTTP step requests with ``MOTIA["METRICS"]`` on and off, and per-call costs.

    python bench/metrics_overhead.py [--requests 3000] [--rounds 5] [--calls 100000]

HTTP: the ``/hello/:name`` step through Django's handler (the test client, in process,
tracing off so only the metrics differ), rounds alternating on and off; the ratio is
the median of the rounds' ratios.  Per call: ``http_request_ended`` and
``attempt_ended`` (the calls a request and a queue attempt make), in this process
and, in a child, under ``PROMETHEUS_MULTIPROC_DIR`` (values written to mmapped files).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")  # the example project's development defaults (hosts, no HTTPS)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    logging.disable(logging.INFO)  # the step's greeting would be most of what is measured


def switch(enabled: bool) -> None:
    from django.conf import settings
    from django.test.signals import setting_changed

    settings.MOTIA = {**getattr(settings, "MOTIA", {}), "TRACING": False, "METRICS": enabled}
    setting_changed.send(sender=None, setting="MOTIA", value=settings.MOTIA, enter=True)


def http_rate(requests: int) -> float:
    from django.test import Client

    client = Client()
    start = time.perf_counter()
    for _ in range(requests):
        client.get("/hello/bench")
    return requests / (time.perf_counter() - start)


def per_call(calls: int) -> dict[str, float]:
    """Microseconds per seam call with metrics on."""
    from motia_django.metrics import attempt_ended, http_request_ended
    from motia_django.registry import get_registry

    switch(True)
    route = get_registry().routes[0]
    envelope = {"enqueuedAt": time.time()}
    timings = {}
    start = time.perf_counter()
    for _ in range(calls):
        http_request_ended(route, 200, 0.001, None)
    timings["http_request_ended"] = (time.perf_counter() - start) / calls * 1e6
    start = time.perf_counter()
    for _ in range(calls):
        attempt_ended(route, "succeeded", 0.001, envelope, 1, fifo=False)
    timings["attempt_ended"] = (time.perf_counter() - start) / calls * 1e6
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--per-call-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    setup()
    if args.per_call_only:
        print(" ".join(f"{name}={value:.2f}" for name, value in per_call(args.calls).items()))
        return
    for enabled in (True, False):
        switch(enabled)
        http_rate(300)  # warm up
    rates: dict[bool, list[float]] = {True: [], False: []}
    for index in range(args.rounds):
        for enabled in ((True, False) if index % 2 == 0 else (False, True)):
            switch(enabled)
            rates[enabled].append(http_rate(args.requests))
    ratio = statistics.median(on / off for on, off in zip(rates[True], rates[False], strict=True))
    print(f"\n### /hello/:name step, {args.requests} requests per round, median of {args.rounds} rounds\n")
    print("| metrics | requests/s (median) | each round |\n| --- | ---: | --- |")
    for enabled in (True, False):
        rounds = " ".join(f"{rate:,.0f}" for rate in rates[enabled])
        print(f"| {'on' if enabled else 'off'} | {statistics.median(rates[enabled]):,.0f} | {rounds} |")
    print(f"\nratio on / off = {ratio:.3f} (target >= 0.97; {'met' if ratio >= 0.97 else 'NOT met'})\n")
    single = per_call(args.calls)
    with tempfile.TemporaryDirectory() as shared:
        child = subprocess.run([sys.executable, __file__, "--per-call-only", "--calls", str(args.calls)],
                               env={**os.environ, "PROMETHEUS_MULTIPROC_DIR": shared}, capture_output=True,
                               text=True, check=True)
    multi = dict(item.split("=") for item in child.stdout.split())
    print("| seam call | µs, one process | µs, PROMETHEUS_MULTIPROC_DIR |\n| --- | ---: | ---: |")
    for name, value in single.items():
        print(f"| `{name}` | {value:.2f} | {float(multi[name]):.2f} |")


if __name__ == "__main__":
    main()
