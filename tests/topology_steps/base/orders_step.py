"""The entry point of the topology: an order is stored (a state trigger fires), fanned out and queued per customer."""

from __future__ import annotations

from typing import Any

from motia import ApiRequest, FlowContext, http, step


def accept(req: ApiRequest[Any], ctx: FlowContext[Any]) -> dict[str, Any]:
    order = req.body
    ctx.state.set("topology-orders", order["id"], order)
    ctx.enqueue({"topic": "topology.fanout", "data": {"id": order["id"]}})
    ctx.enqueue({"topic": "topology.fifo", "data": order, "messageGroupId": order["group"]})
    return {"status": 202, "body": {"id": order["id"], "trace": ctx.trace_id}}


orders = step({"name": "topology-orders", "triggers": [http("POST", "/topology/orders")],
               "enqueues": ["topology.fanout", "topology.fifo"]}, accept)
