"""Prices an order taken from the queue and passes it on."""

from motia import FlowContext, queue, step

PRICES = {"widget": 5, "gadget": 12}

process_order = step(
    {
        "name": "ProcessOrder",
        "flows": ["orders"],
        "triggers": [
            queue(
                "order.created",
                input={
                    "type": "object",
                    "properties": {"orderId": {"type": "string"}, "quantity": {"type": "integer"}},
                    "required": ["orderId", "item", "quantity"],
                },
            )
        ],
        "enqueues": ["order.priced"],
        "infrastructure": {"queue": {"max_retries": 3, "backoff_type": "exponential", "backoff_delay_ms": 500}},
    }
)


@process_order.handle
async def handler(order, ctx: FlowContext) -> None:
    total = PRICES.get(order["item"], 1) * order["quantity"]
    await ctx.state.update("orders", order["orderId"], [
        {"type": "set", "path": "status", "value": "priced"},
        {"type": "set", "path": "total", "value": total},
    ])
    await ctx.enqueue({"topic": "order.priced", "data": {"orderId": order["orderId"], "total": total}})
