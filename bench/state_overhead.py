"""ctx.state throughput against the equivalent raw ORM calls, same database, same run.

    python bench/state_overhead.py [--ops 2000] [--database sqlite|postgres]

Measures the state API as a sync handler calls it (``ctx.state.get/set/update``)
and, as the baseline, the plain ORM calls that do the same work on the same
table: ``filter().first()``, ``update_or_create()`` and a locked
read-increment-write in a transaction.  No step watches state, so no trigger
messages are sent; rounds alternate API and baseline to cancel drift and the
median of five rounds is reported.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

ROUNDS = 5


def configure(database: str, steps_dir: str) -> None:
    import django
    from django.conf import settings

    if database == "sqlite":
        db = {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(Path(tempfile.mkdtemp(prefix="motia-bench-")) / "bench.sqlite3"),
            "OPTIONS": {"transaction_mode": "IMMEDIATE", "timeout": 20,
                        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"},
        }
    else:
        db = {"ENGINE": "django.db.backends.postgresql", "NAME": os.environ.get("BENCH_PG_DB", "test"),
              "USER": "postgres", "HOST": "127.0.0.1", "PORT": "5432"}
    settings.configure(
        DEBUG=False,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "django_celery_beat", "motia_django"],
        DATABASES={"default": db},
        USE_TZ=True,
        MOTIA={"STEPS_DIRS": [steps_dir]},
        CELERY_BROKER_URL="memory://",
        LOGGING_CONFIG=None,
    )
    django.setup()
    from django.core.management import call_command

    call_command("migrate", "motia_django", verbosity=0)


def rate(fn: Callable[[int], object], ops: int) -> float:
    start = time.perf_counter()
    for n in range(ops):
        fn(n)
    return ops / (time.perf_counter() - start)


def measure(ops: int) -> list[tuple[str, float, float]]:
    from django.db import transaction

    from motia_django.models import StateEntry
    from motia_django.state.manager import StateManager

    state = StateManager()
    StateEntry.objects.filter(group__startswith="bench").delete()
    for n in range(ops):
        state.set("bench-api", f"k{n}", {"n": n})
        StateEntry.objects.create(group="bench-orm", key=f"k{n}", value={"n": n})

    def orm_get(n: int) -> object:
        row = StateEntry.objects.filter(group="bench-orm", key=f"k{n}").first()
        return None if row is None else row.value

    def orm_set(n: int) -> object:
        return StateEntry.objects.update_or_create(group="bench-orm", key=f"k{n}", defaults={"value": {"n": -n}})

    def orm_increment(n: int) -> object:
        with transaction.atomic():
            row = StateEntry.objects.select_for_update().get(group="bench-orm", key="counter")
            row.value = {"n": row.value["n"] + 1}
            row.save(update_fields=["value", "updated_at"])
        return row.value

    StateEntry.objects.create(group="bench-orm", key="counter", value={"n": 0})
    state.set("bench-api", "counter", {"n": 0})
    pairs = [
        ("get", lambda n: state.get("bench-api", f"k{n}"), orm_get),
        ("set", lambda n: state.set("bench-api", f"k{n}", {"n": -n}), orm_set),
        ("update(increment)", lambda n: state.update("bench-api", "counter",
                                                     [{"type": "increment", "path": "n", "value": 1}]), orm_increment),
    ]
    rows = []
    for name, api, orm in pairs:
        api_rates, orm_rates = [], []
        for _ in range(ROUNDS):
            api_rates.append(rate(api, ops))
            orm_rates.append(rate(orm, ops))
        rows.append((name, statistics.median(api_rates), statistics.median(orm_rates)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    configure(args.database, tempfile.mkdtemp(prefix="motia-bench-steps-"))
    rows = measure(args.ops)
    print(f"\n### {args.database}: {args.ops} ops per round, median of {ROUNDS} rounds\n")
    print("| operation | ctx.state ops/s | raw ORM ops/s | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for name, api, orm in rows:
        print(f"| {name} | {api:,.0f} | {orm:,.0f} | {api / orm:.2f} |")
    worst = min(api / orm for _, api, orm in rows)
    print(f"\nlowest ratio ctx.state/ORM = {worst:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
