"""Steps written against the typed public API; ``test_execution_core`` runs ``mypy --strict`` on this file."""

from __future__ import annotations

from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, Stream, aenqueue, enqueue, http, queue, stateManager, step

notes: Stream[dict[str, Any]] = Stream("typed-notes")


def create(req: ApiRequest[dict[str, Any]], ctx: FlowContext[Any]) -> ApiResponse[dict[str, Any]]:
    written = ctx.state.set("typed", "last", req.body)
    old: Any = written.old_value
    items: list[Any] = notes.get_group("g")
    ctx.enqueue({"topic": "typed.created", "data": req.body})
    enqueue({"topic": "typed.created", "data": req.body})
    return ApiResponse(201, {"previous": old, "count": len(items), "value": stateManager.get("typed", "last")})


async def consume(data: dict[str, Any], ctx: FlowContext[Any]) -> None:
    current: Any = await ctx.state.aget("typed", "last")
    result = await ctx.state.aset("typed", "seen", {"current": current, "data": data})
    groups: list[str] = await stateManager.alist_groups()
    await notes.aset("g", "n1", {"groups": groups, "new": result.new_value})
    await ctx.aenqueue({"topic": "typed.done", "data": data})
    await aenqueue({"topic": "typed.done", "data": data})


creator = step({"name": "typed-create", "triggers": [http("POST", "/typed")], "enqueues": ["typed.created"]}, create)
consumer = step({"name": "typed-consume", "triggers": [queue("typed.created")], "enqueues": ["typed.done"]}, consume)
