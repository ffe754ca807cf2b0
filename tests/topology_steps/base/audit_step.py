"""The audit topic's first subscriber; a later deploy adds a second (``tests/topology_steps/deploy``)."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, queue, step
from tests.topology_steps.record import record


def audit(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    record("topology-audit", data["id"], ctx.trace_id)


auditor = step({"name": "topology-audit", "triggers": [queue("topology.audit")]}, audit)
