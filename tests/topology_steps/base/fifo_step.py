"""Orders of one customer, one at a time and in order (``messageGroupId``: the customer's group)."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, queue, step
from tests.topology_steps.record import record


def settle(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    record("topology-settle", data["id"], ctx.trace_id, group=data["group"], seq=data["seq"])


settler = step({"name": "topology-settle", "triggers": [queue("topology.fifo")],
                "infrastructure": {"queue": {"type": "fifo"}}}, settle)
