# motia-python-guide.txt, "Trigger Conditions" (Python): an EventTrigger condition.
from motia import StepConfig, EventTrigger, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
PROCESSED = []


async def process_order(order):
    PROCESSED.append(order)
# --------------------------------------------------------------------------------------


def is_high_value(input, ctx: FlowContext) -> bool:
    amount = input.get("amount", 0) if isinstance(input, dict) else 0
    return amount > 1000

config = StepConfig(
    name="process-high-value-order",
    triggers=[
        EventTrigger(
            subscribes=["order.created"],
            condition=is_high_value
        )
    ]
)

async def handler(data, ctx: FlowContext):
    ctx.logger.info(f"Processing high-value order: {data['amount']}")
    await process_order(data)

step_wrapper(config, __file__, handler)
