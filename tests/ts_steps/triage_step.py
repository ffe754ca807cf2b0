"""The Python step between two TypeScript ones: reads what TypeScript stored, enqueues back to TypeScript."""

from __future__ import annotations

from typing import Any

from motia import FlowContext, queue

config = {
    "name": "TsTriage",
    "triggers": [queue("ts-ticket.created", input={"type": "object", "required": ["id"]})],
    "enqueues": ["ts-ticket.triaged"],
    "flows": ["ts-support"],
}


def handler(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    ticket = ctx.state.get("ts-tickets", data["id"])
    team = "escalations" if ticket["priority"] == "high" else "desk"
    ticket.update(team=team, triagedBy="python", triageTrace=ctx.trace_id)
    ctx.state.set("ts-tickets", data["id"], ticket)
    ctx.enqueue({"topic": "ts-ticket.triaged", "data": {"id": data["id"]}})
