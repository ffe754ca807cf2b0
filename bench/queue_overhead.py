"""Queue-step throughput and latency against raw Celery tasks, same Redis, same worker, same run.

    python bench/queue_overhead.py [--messages 5000] [--rounds 3] [--latency-samples 300] [--database sqlite|postgres]

A no-op queue step with a sync handler (``queue("bench.noop")``), the same
with an async handler (``queue("bench.noop.async")``) and a no-op raw Celery
task all bump one Redis counter.  Throughput: N messages are published as fast as the
publisher can (``ctx.enqueue``'s path: outbox row, send after commit, for the
step; ``apply_async`` for the task) while one worker (prefork, concurrency 2)
consumes them; the rate is N over the time from the first publish to the last
completion.  Rounds alternate the three.  The whole run is done three times:
as configured by default (tracing and metrics on), with ``MOTIA["TRACING"]`` off,
and with ``MOTIA["METRICS"]`` off, each pass with its own worker.  Latency: on an idle worker, one message at a
time, the delay from publish to handler start.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from motia_django.testing.processes import ChildProcess

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")

SETTINGS = '''
import os
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "bench"
DEBUG = False
USE_TZ = True
INSTALLED_APPS = ["django.contrib.contenttypes", "django.contrib.auth", "django_celery_beat", "motia_django"]
DATABASES = {"default": %(database)s}
CELERY_BROKER_URL = %(redis)r
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
MOTIA = {"STEPS_DIRS": [str(BASE_DIR / "steps")], "TRACING": os.environ.get("BENCH_TRACING", "1") == "1",
         "METRICS": os.environ.get("BENCH_METRICS", "1") == "1"}
LOGGING = {"version": 1, "loggers": {"motia": {"level": "WARNING"}}}
'''

CELERY_APP = '''
import os
from celery import Celery
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchapp.settings")
app = Celery("benchapp")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["benchapp"])
import motia_django  # noqa: E402
motia_django.init_app(app)
'''

TASKS = '''
import time
import redis
from celery import shared_task

counter = redis.Redis.from_url(%(redis)r)


@shared_task(name="bench.raw", ignore_result=True)
def raw(payload):
    if payload.get("sentAt"):
        counter.rpush("bench:latency", time.time() - payload["sentAt"])
    counter.incr("bench:done")
'''

STEP = '''
import time
import redis
from motia import queue, step

counter = redis.Redis.from_url(%(redis)r)


def noop(data, ctx):
    if data.get("sentAt"):
        counter.rpush("bench:latency", time.time() - data["sentAt"])
    counter.incr("bench:done")


async def anoop(data, ctx):
    noop(data, ctx)


noop_step = step({"name": "bench-noop", "triggers": [queue("bench.noop")]}, noop)
async_step = step({"name": "bench-noop-async", "triggers": [queue("bench.noop.async")]}, anoop)
'''


KINDS = ["step", "async", "raw"]
TOPICS = {"step": "bench.noop", "async": "bench.noop.async"}
LABELS = {"step": "step, sync handler", "async": "step, async handler", "raw": "raw Celery task"}
# pass label -> the MOTIA settings it changes (the worker and this publisher both use them)
PASSES: dict[str, dict[str, bool]] = {
    "defaults": {"TRACING": True, "METRICS": True},
    "tracing off": {"TRACING": False, "METRICS": True},
    "metrics off": {"TRACING": True, "METRICS": False},
}


def write_project(database: str) -> Path:
    base = Path(tempfile.mkdtemp(prefix="motia-queue-bench-"))
    app = base / "benchapp"
    (app / "steps").mkdir(parents=True)
    if database == "sqlite":
        db = repr({"ENGINE": "django.db.backends.sqlite3", "NAME": str(base / "bench.sqlite3"),
                   "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                               "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}})
    else:
        db = repr({"ENGINE": "django.db.backends.postgresql", "NAME": "test", "USER": "postgres",
                   "HOST": "127.0.0.1", "PORT": "5432"})
    (app / "__init__.py").write_text("from .celery_app import app as celery_app\n")
    (app / "settings.py").write_text(SETTINGS % {"database": db, "redis": REDIS_URL})
    (app / "celery_app.py").write_text(CELERY_APP)
    (app / "tasks.py").write_text(TASKS % {"redis": REDIS_URL})
    (app / "steps" / "noop_step.py").write_text(STEP % {"redis": REDIS_URL})
    return base


def environment(base: Path, options: dict[str, bool]) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(base), str(ROOT)]),
            "DJANGO_SETTINGS_MODULE": "benchapp.settings",
            **{f"BENCH_{name}": "1" if value else "0" for name, value in options.items()}}


def start_worker(base: Path, label: str) -> ChildProcess:
    """One worker (prefork, concurrency 2) on both queues, so step and raw task share it."""
    return ChildProcess(
        [sys.executable, "-m", "celery", "-A", "benchapp", "worker", "--loglevel", "WARNING", "--concurrency",
         "2", "--without-gossip", "--without-mingle", "--queues", "celery,motia.bench.noop,motia.bench.noop.async"],
        log=base / f"worker-{label.replace(' ', '-')}.log", cwd=base, env=environment(base, PASSES[label]),
    )


def run(args: argparse.Namespace) -> None:
    import django

    base = write_project(args.database)
    os.environ.update(environment(base, PASSES["defaults"]))
    sys.path[:0] = [str(base), str(ROOT)]
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)

    import redis
    from benchapp.tasks import raw

    from motia_django.conf import motia_settings
    from motia_django.models import Execution
    from motia_django.queues.publisher import publish
    from motia_django.tracing import new_trace_id

    counter = redis.Redis.from_url(REDIS_URL)
    counter.flushdb()

    def send(kind: str, payload: dict[str, object]) -> None:
        if kind == "raw":
            raw.apply_async(args=(payload,))
        else:
            publish(TOPICS[kind], payload, new_trace_id(), None, "bench")

    def wait_done(target: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while int(counter.get("bench:done") or 0) < target:
            if time.monotonic() > deadline:
                raise SystemExit(f"timed out: {counter.get('bench:done')} of {target} done")
            time.sleep(0.002)

    def throughput(kind: str, n: int) -> float:
        counter.delete("bench:done")
        start = time.perf_counter()
        for i in range(n):
            send(kind, {"i": i})
        wait_done(n)
        return n / (time.perf_counter() - start)

    def latencies(kind: str, samples: int) -> list[float]:
        counter.delete("bench:latency", "bench:done")
        for i in range(samples):
            send(kind, {"i": i, "sentAt": time.time()})
            wait_done(i + 1)
            time.sleep(0.005)
        return sorted(float(v) * 1000 for v in counter.lrange("bench:latency", 0, -1))

    results: dict[str, dict[str, float]] = {}
    for label, options in PASSES.items():
        os.environ.update(environment(base, options))
        from django.conf import settings
        from django.test.signals import setting_changed

        settings.MOTIA = {**settings.MOTIA, **options}
        setting_changed.send(sender=None, setting="MOTIA", value=settings.MOTIA, enter=True)
        assert (motia_settings().TRACING, motia_settings().METRICS) == (options["TRACING"], options["METRICS"])
        worker = start_worker(base, label)
        try:
            time.sleep(4)
            for kind in KINDS:
                throughput(kind, 200)
            rates: dict[str, list[float]] = {kind: [] for kind in KINDS}
            for index in range(args.rounds):
                shift = index % len(KINDS)
                for kind in KINDS[shift:] + KINDS[:shift]:
                    rates[kind].append(throughput(kind, args.messages))
            for kind in KINDS:
                row = results[f"{LABELS[kind]} ({label})"] = {"rate": statistics.median(rates[kind])}
                # the machine's speed drifts: each round's ratio compares runs made one after the other
                row["round_ratio"] = statistics.median(a / b for a, b in zip(rates[kind], rates["raw"], strict=True))
            if label == "defaults":
                for kind in KINDS:
                    values = latencies(kind, args.latency_samples)
                    row = results[f"{LABELS[kind]} ({label})"]
                    row["p50"] = values[len(values) // 2]
                    row["p99"] = values[int(len(values) * 0.99) - 1]
            Execution.objects.all().delete()
        finally:
            worker.stop(timeout=20)

    print(f"\n### {args.messages} no-op messages per round, median of {args.rounds} rounds, "
          f"1 worker (prefork, concurrency 2), Redis broker, {args.database}\n")
    print("| route | messages/s | p50 enqueue→start | p99 enqueue→start |")
    print("| --- | ---: | ---: | ---: |")
    for name, row in results.items():
        p50 = f"{row['p50']:.2f} ms" if "p50" in row else "-"
        p99 = f"{row['p99']:.2f} ms" if "p99" in row else "-"
        print(f"| {name} | {row['rate']:,.0f} | {p50} | {p99} |")
    print()
    for kind in ("step", "async"):
        for label in PASSES:
            ratio = results[f"{LABELS[kind]} ({label})"]["round_ratio"]
            of_medians = results[f"{LABELS[kind]} ({label})"]["rate"] / results[f"{LABELS['raw']} ({label})"]["rate"]
            print(f"ratio {LABELS[kind]} / raw task, {label} = {ratio:.2f}, median of the rounds' ratios "
                  f"(ratio of the medians {of_medians:.2f}; target >= 0.9; {'met' if ratio >= 0.9 else 'NOT met'})")
        # each pass's ratio to its own raw task cancels the drift between passes
        cost = 1 - (results[f"{LABELS[kind]} (defaults)"]["round_ratio"]
                    / results[f"{LABELS[kind]} (metrics off)"]["round_ratio"])
        verdict = "met" if cost <= 0.03 else "NOT met"
        print(f"metrics cost, {LABELS[kind]}: {cost:+.1%} of the rate (target <= 3%; {verdict})")
    raw_p50 = results[f"{LABELS['raw']} (defaults)"]["p50"]
    for kind in ("step", "async"):
        p50 = results[f"{LABELS[kind]} (defaults)"]["p50"]
        print(f"p50 enqueue→start, {LABELS[kind]}: {p50:.2f} ms against the raw task's {raw_p50:.2f} ms: "
              f"+{p50 - raw_p50:.2f} ms (target <= +0.5 ms; {'met' if p50 - raw_p50 <= 0.5 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=textwrap.dedent(__doc__ or ""),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--latency-samples", type=int, default=300)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    run(parser.parse_args())


if __name__ == "__main__":
    main()
