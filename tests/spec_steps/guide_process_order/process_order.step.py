# motia-python-guide.txt, "Multiple Triggers" (Python): ctx.trigger.type == "api" / "event".
from motia import StepConfig, ApiTrigger, EventTrigger, ApiRequest, ApiResponse, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
PROCESSED = []


async def process_order(order_data):
    PROCESSED.append(order_data)
# --------------------------------------------------------------------------------------


config = StepConfig(
    name="process-order",
    triggers=[
        ApiTrigger(path="/orders/manual", method="POST"),
        EventTrigger(subscribes=["order.created"])
    ],
    emits=["order.processed"]
)

async def handler(input, ctx: FlowContext):
    if ctx.trigger.type == "api":
        ctx.logger.info("Order received via API")
        order_data = input.body
    elif ctx.trigger.type == "event":
        ctx.logger.info("Order received via event")
        order_data = input

    await process_order(order_data)
    await ctx.emit("order.processed", order_data)

    if ctx.trigger.type == "api":
        return ApiResponse(status=200, body={"success": True})

step_wrapper(config, __file__, handler)
