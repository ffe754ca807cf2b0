"""A tick every second (six-field expression)."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, cron, step
from tests.topology_steps.record import record


def tick(input: None, ctx: FlowContext[Any]) -> None:
    record("topology-clock", ctx.trace_id, ctx.trace_id)


clock = step({"name": "topology-clock", "triggers": [cron("* * * * * *")]}, tick)
