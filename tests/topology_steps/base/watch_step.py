"""A state trigger on stored orders."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, state, step
from tests.topology_steps.record import record


def stored(input: Any, ctx: FlowContext[Any]) -> None:
    record("topology-watch", input.item_id, input.trace_id or ctx.trace_id)


watcher = step({"name": "topology-watch", "triggers": [state(condition=lambda i, c: i.group_id == "topology-orders")]},
               stored)
