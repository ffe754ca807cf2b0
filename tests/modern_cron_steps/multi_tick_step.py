"""A multi-trigger step's cron handler is called as ``fn(ctx)`` (see tick_step.py for why this folder)."""

from motia import cron, multi_trigger_step, stateManager


def on_cron(ctx):
    stateManager.set("m103-cron", "multi", {"trace": ctx.trace_id, "cron": ctx.is_cron()})


ticking = multi_trigger_step({"name": "m103-multi-tick", "triggers": [cron("0 0 1 1 *")]}).on_cron(on_cron).handlers()
