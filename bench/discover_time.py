"""Discovery time: ``motia_discover --check`` over many generated step files, against ``manage.py check``.

    python bench/discover_time.py [--steps 1000] [--rounds 3]

Writes ``--steps`` step files (a third HTTP, a third queue, a third cron, each
with a JSON Schema) into a temporary folder, then times, in fresh processes,
``python -m django motia_discover --check`` and, as the baseline, Django's own
``python -m django check`` on the same settings (which also discovers the
steps, through the system checks).  Prints the median wall time of each.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 2.0

SETTINGS = '''
import os
os.environ.setdefault("MOTIA_VAR_DIR", {var!r})
os.environ.setdefault("DJANGO_DEBUG", "1")  # the example project's development defaults (hosts, no HTTPS)
from project.settings import *  # noqa: F403
MOTIA = {{"STEPS_DIRS": [{steps!r}]}}
'''

HTTP_STEP = '''
from motia import ApiResponse, http, step

config = {{"name": "http-{n}", "triggers": [http("POST", "/items-{n}/:id", body_schema={{"type": "object",
           "properties": {{"title": {{"type": "string"}}}}, "required": ["title"]}})], "enqueues": ["topic-{n}"],
           "flows": ["flow-{flow}"]}}


def handler(req, ctx):
    ctx.enqueue({{"topic": "topic-{n}", "data": req.body}})
    return ApiResponse(202, {{"id": req.path_params["id"]}})
'''

QUEUE_STEP = '''
from motia import queue, step


async def handler(data, ctx):
    await ctx.state.set("bench", data["title"], data)


consumer = step({{"name": "queue-{n}", "triggers": [queue("topic-{m}", input={{"type": "object"}})],
                 "flows": ["flow-{flow}"]}}, handler)
'''

CRON_STEP = '''
from motia import cron, step


def handler(input, ctx):
    ctx.logger.info("tick")


ticker = step({{"name": "cron-{n}", "triggers": [cron("*/{minute} * * * *")], "flows": ["flow-{flow}"]}}, handler)
'''


def write_project(base: Path, count: int) -> dict[str, str]:
    steps = base / "steps"
    steps.mkdir()
    for n in range(count):
        kind = n % 3
        flow = n // 30
        if kind == 0:
            text = HTTP_STEP.format(n=n, flow=flow)
        elif kind == 1:
            text = QUEUE_STEP.format(n=n, m=n - 1, flow=flow)
        else:
            text = CRON_STEP.format(n=n, minute=1 + n % 59, flow=flow)
        (steps / f"s{n:04d}_step.py").write_text(text)
    site = base / "site"
    site.mkdir()
    (site / "discover_bench_settings.py").write_text(SETTINGS.format(var=str(base / "var"), steps=str(steps)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(ROOT)])
    env["DJANGO_SETTINGS_MODULE"] = "discover_bench_settings"
    return env


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="motia-discover-bench-") as tmp:
        base = Path(tmp)
        env = write_project(base, args.steps)
        subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env=env, cwd=base, check=True)
        discover = [sys.executable, "-m", "django", "motia_discover", "--check"]
        check = [sys.executable, "-m", "django", "check"]
        times: dict[str, list[float]] = {"motia_discover --check": [], "manage.py check": []}
        for _ in range(args.rounds):
            times["motia_discover --check"].append(timed(discover, env, base))
            times["manage.py check"].append(timed(check, env, base))
    print(f"\n{args.steps} step files, median of {args.rounds} fresh processes\n")
    print("| command | seconds (median) | min–max |")
    print("| --- | ---: | ---: |")
    for name, values in times.items():
        print(f"| `{name}` | {statistics.median(values):.2f} | {min(values):.2f}–{max(values):.2f} |")
    median = statistics.median(times["motia_discover --check"])
    verdict = "met" if median <= TARGET_SECONDS else "NOT met"
    print(f"\nmotia_discover --check: {median:.2f} s (target <= {TARGET_SECONDS:.0f} s; {verdict})")


if __name__ == "__main__":
    main()
