"""A Motia 0.x event step with an async handler, on the conditional topic."""

config = {
    "type": "event",
    "name": "l0-review-order",
    "subscribes": ["l0-order-flagged"],
    "input": None,
    "emits": [],
    "flows": ["l0-orders"],
}


async def handler(data, context):
    flagged = await context.state.get("l0-flagged", "orders") or []
    await context.state.set("l0-flagged", "orders", [*flagged, data["id"]])
