"""Starts the checkout flow: a labelled enqueue and a conditional one."""

from motia import Enqueue, http, step


async def handler(req, ctx):
    return {"status": 202, "body": {}}


place_order = step(
    {
        "name": "PlaceOrder",
        "flows": ["checkout"],
        "triggers": [http("POST", "/checkout")],
        "enqueues": [Enqueue("order.placed", label="Order placed"),
                     Enqueue("fraud.suspected", label="Looks risky", conditional=True)],
    },
    handler,
)
