"""POST /orders: validate, remember the order in state, and hand it to the queue."""

from pydantic import BaseModel, Field

from motia import ApiResponse, FlowContext, http, step


class OrderIn(BaseModel):
    item: str = Field(min_length=1, max_length=100, pattern=r"^[\w .-]+$")
    quantity: int = Field(gt=0, le=1000)


async def create_order(input, ctx: FlowContext) -> ApiResponse:
    order = OrderIn.model_validate(input.request.body).model_dump()  # only the fields the schema knows
    order_id = f"order-{ctx.trace_id[:8]}"
    await ctx.state.set("orders", order_id, {**order, "id": order_id, "status": "received"})
    await ctx.enqueue({"topic": "order.created", "data": {"orderId": order_id, **order}})
    return ApiResponse(status=202, body={"id": order_id, "status": "received"})


create_order_step = step(
    {
        "name": "CreateOrder",
        "description": "Accept an order and enqueue it for processing",
        "flows": ["orders"],
        "triggers": [http("POST", "/orders", body_schema=OrderIn)],
        "enqueues": ["order.created"],
    },
    create_order,
)
