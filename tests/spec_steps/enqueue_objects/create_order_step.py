# step-function.txt, "Enqueue configuration": topic strings and Enqueue objects.
# The spec shows only the config; a handler is attached with the builder's
# .handle (step-function.txt, "Builder pattern") so the step can run.
from motia import step, Enqueue, http

my_step = step({
    "name": "CreateOrder",
    "triggers": [http("POST", "/orders")],
    "enqueues": [
        "order.created",  # Simple string topic
        Enqueue(
            topic="high-value.order",
            label="High Value Orders",
            conditional=True,  # Only enqueue if explicitly called
        ),
    ],
})


# -- added so the step has a handler ---------------------------------------------------
@my_step.handle
async def handler(request, ctx):
    order = request.body
    await ctx.enqueue({"topic": "order.created", "data": order})
    if order["amount"] > 1000:
        await ctx.enqueue({"topic": "high-value.order", "data": order})
    return {"status": 201, "body": order}
# --------------------------------------------------------------------------------------
