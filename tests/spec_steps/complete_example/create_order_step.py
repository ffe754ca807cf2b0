# step-function.txt, "Complete example": Stream("orders"), http + queue triggers, ctx.match.
from motia import (
    step,
    http,
    queue,
    FlowContext,
    ApiRequest,
    ApiResponse,
    Stream,
)
# The spec's handler is annotated "-> Any" without importing Any; without this
# import the file fails with NameError.
from typing import Any

order_stream = Stream("orders")

config = {
    "name": "CreateOrder",
    "description": "Create a new order and enqueue for processing",
    "flows": ["orders"],
    "triggers": [
        http("POST", "/orders"),
        queue("order.retry"),
    ],
    "enqueues": ["order.created", "order.failed"],
    "infrastructure": {
        "handler": {
            "ram": 256,
            "timeout": 45,
        },
    },
}


async def handler(input_data, ctx: FlowContext) -> Any:
    """Handle order creation from API or queue."""

    async def handle_api(request: ApiRequest) -> ApiResponse:
        body = request.body or {}
        order_id = f"order-{ctx.trace_id[:8]}"

        # Save to stream
        await order_stream.set("pending", order_id, {
            "id": order_id,
            "description": body.get("description"),
            "amount": body.get("amount", 0),
        })

        # Enqueue for processing
        await ctx.enqueue({
            "topic": "order.created",
            "data": {"order_id": order_id},
        })

        return ApiResponse(status=201, body={"id": order_id})

    async def handle_queue(data) -> None:
        ctx.logger.info(f"Retrying order: {data}")
        await ctx.enqueue({
            "topic": "order.created",
            "data": data,
        })

    return await ctx.match({
        "http": handle_api,
        "queue": handle_queue,
    })


my_step = step(config, handler)
