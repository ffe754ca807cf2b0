"""A Motia 0.x API step: async handler, middleware, bodySchema, responseSchema, labelled and conditional emits."""

from l0_services.auth import require_customer
from l0_services.pricing import FLAG_ABOVE, order_total

config = {
    "type": "api",
    "name": "l0-create-order",
    "description": "Place an order",
    "path": "/l0/orders",
    "method": "POST",
    "bodySchema": {
        "type": "object",
        "properties": {
            "id": {"type": "string", "minLength": 1},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"price": {"type": "integer"}, "quantity": {"type": "integer"}},
                    "required": ["price", "quantity"],
                },
            },
        },
        "required": ["id", "items"],
    },
    "responseSchema": {201: {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}},
    "middleware": [require_customer],
    "emits": [
        {"topic": "l0-order-placed", "label": "Order placed"},
        {"topic": "l0-order-flagged", "label": "Large order", "conditional": True},
    ],
    "virtualSubscribes": ["l0-order-requested"],
    "flows": ["l0-orders"],
}


async def handler(req, context):
    body = req.get("body", {})
    total = order_total(body["items"])
    order = {"id": body["id"], "customer": req["customer"], "total": total}
    context.logger.info("Placing order", {"order": order})
    await context.state.set(context.trace_id, "order", order)
    await context.emit({"topic": "l0-order-placed", "data": order})
    if total > FLAG_ABOVE:
        await context.emit({"topic": "l0-order-flagged", "data": order})
    return {"status": 201, "body": {"id": body["id"], "total": total, "traceId": context.trace_id,
                                    "flows": context.flows}, "headers": {}}
