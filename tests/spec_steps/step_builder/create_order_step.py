# step-function.txt, "Builder pattern": step(config) then @order_step.handle.
from motia import step, http, FlowContext, ApiRequest, ApiResponse

# Create builder
order_step = step({
    "name": "CreateOrder",
    "triggers": [http("POST", "/orders")],
    "enqueues": ["order.created"],
})


# Attach handler later
@order_step.handle
async def handler(request: ApiRequest, ctx: FlowContext) -> ApiResponse:
    return ApiResponse(status=201, body={"id": "order-123"})
