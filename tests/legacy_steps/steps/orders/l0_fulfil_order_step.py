"""A Motia 0.x event step with a sync handler: input schema, state and stream writes."""

config = {
    "type": "event",
    "name": "l0-fulfil-order",
    "subscribes": ["l0-order-placed"],
    "input": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "customer": {"type": "string"}, "total": {"type": "integer"}},
        "required": ["id", "total"],
    },
    "emits": [],
    "flows": ["l0-orders"],
}


def handler(data, context):
    context.logger.info("Fulfilling order", {"id": data["id"]})
    context.state.set(context.trace_id, "fulfilled", {"id": data["id"], "flows": context.flows})
    context.streams.l0Orders.set("orders", data["id"], {"id": data["id"], "status": "fulfilled",
                                                        "total": data["total"]})
    if data.get("customer") == "l0-rogue":
        context.emit({"topic": "l0-undeclared", "data": data})
