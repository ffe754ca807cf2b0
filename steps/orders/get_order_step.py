"""GET /orders/{id} shows an order's progress through the flow."""

from motia import ApiResponse, FlowContext, http, step


async def get_order(req, ctx: FlowContext) -> ApiResponse:
    order = await ctx.state.get("orders", req.path_params["id"])
    if order is None:
        return ApiResponse(status=404, body={"error": "order not found"})
    return ApiResponse(status=200, body=order)


get_order_step = step({"name": "GetOrder", "flows": ["orders"], "triggers": [http("GET", "/orders/{id}")]}, get_order)
