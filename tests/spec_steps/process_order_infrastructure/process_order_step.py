# step-function.txt, "Infrastructure configuration": handler resources and a FIFO queue.
# The spec shows only the config; a handler is attached with the builder's
# .handle (step-function.txt, "Builder pattern") so the step can run.
from motia import step, queue

my_step = step({
    "name": "ProcessOrder",
    "triggers": [queue("orders")],
    "infrastructure": {
        "handler": {
            "ram": 512,  # MB of memory
            "cpu": 256,  # CPU units
            "timeout": 60,  # seconds
        },
        "queue": {
            "type": "fifo",
            "max_retries": 5,
            "visibility_timeout": 30,
            "delay_seconds": 0,
        },
    },
})


# -- added so the step has a handler ---------------------------------------------------
@my_step.handle
async def handler(data, ctx):
    await ctx.state.set("processed-orders", data["orderId"], data)
# --------------------------------------------------------------------------------------
