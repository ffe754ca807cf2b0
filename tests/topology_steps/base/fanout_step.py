"""Two subscribers of one topic: each gets its own copy; the first hands the order on to the audit topic."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, queue, step
from tests.topology_steps.record import record


def bill(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    record("topology-bill", data["id"], ctx.trace_id)
    ctx.enqueue({"topic": "topology.audit", "data": {"id": data["id"]}})


def ship(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    record("topology-ship", data["id"], ctx.trace_id)


billing = step({"name": "topology-bill", "triggers": [queue("topology.fanout")], "enqueues": ["topology.audit"]},
               bill)
shipping = step({"name": "topology-ship", "triggers": [queue("topology.fanout")]}, ship)
