"""A step a rolling deploy adds: a second subscriber of an existing topic, known to the upgraded worker only."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, queue, step
from tests.topology_steps.record import record


def archive(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    record("topology-archive", data["id"], ctx.trace_id)


archiver = step({"name": "topology-archive", "triggers": [queue("topology.audit")]}, archive)
