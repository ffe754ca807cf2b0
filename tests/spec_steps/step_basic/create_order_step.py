# step-function.txt, "Basic usage": step(config=..., handler=...) with keyword arguments.
from motia import step, http, FlowContext, ApiRequest, ApiResponse


# -- stand-in for the handler the spec names but does not define ---------------------
async def handler_func(request: ApiRequest, ctx: FlowContext) -> ApiResponse:
    await ctx.enqueue({"topic": "order.created", "data": {"orderId": "order-1"}})
    return ApiResponse(status=201, body={"id": "order-1"})
# --------------------------------------------------------------------------------------


my_step = step(
    config={
        "name": "CreateOrder",
        "triggers": [http("POST", "/orders")],
        "enqueues": ["order.created"],
    },
    handler=handler_func
)
