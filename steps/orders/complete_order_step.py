"""Marks an order complete: the last hop of the HTTP -> queue -> queue flow."""

from motia import FlowContext, queue, step


async def complete(data, ctx: FlowContext) -> None:
    await ctx.state.update("orders", data["orderId"], [{"type": "set", "path": "status", "value": "completed"}])
    ctx.logger.info("Order completed", {"orderId": data["orderId"], "total": data["total"]})


complete_order = step({"name": "CompleteOrder", "flows": ["orders"], "triggers": [queue("order.priced")]}, complete)
