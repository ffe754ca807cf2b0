# motia-python-guide.txt, "Conditions with Multiple Triggers" (Python).
from motia import StepConfig, ApiTrigger, EventTrigger, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
PROCESSED = []


async def process_order(order):
    PROCESSED.append(order)
# --------------------------------------------------------------------------------------


def is_verified_user(input, ctx: FlowContext) -> bool:
    if ctx.trigger.type == "api":
        return input.headers.get("x-verified") == "true"
    return True

def is_high_value(input, ctx: FlowContext) -> bool:
    amount = input.get("amount", 0) if isinstance(input, dict) else 0
    return amount > 1000

config = StepConfig(
    name="process-order",
    triggers=[
        ApiTrigger(
            path="/orders/manual",
            method="POST",
            condition=is_verified_user
        ),
        EventTrigger(
            subscribes=["order.created"],
            condition=is_high_value
        )
    ],
    emits=["order.processed"]
)

async def handler(input, ctx: FlowContext):
    ctx.logger.info(f"Processing order via {ctx.trigger.type}")
    await process_order(input)
    await ctx.emit("order.processed", input)

step_wrapper(config, __file__, handler)
