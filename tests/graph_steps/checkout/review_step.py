"""Virtual edges: a human reviews the order outside any step, then mails the customer."""

from motia import Enqueue, queue, state, step, stream


async def handler(data, ctx):
    return None


review = step(
    {
        "name": "FraudReview",
        "flows": ["checkout"],
        "triggers": [queue("fraud.suspected")],
        "virtual_enqueues": [Enqueue("manual.review", label="by a human")],
    },
    handler,
)
email = step(
    {
        "name": "EmailCustomer",
        "description": "Mails the customer once a human decided",
        "flows": ["checkout"],
        "triggers": [state(), stream("orders")],
        "virtual_subscribes": ["manual.review"],
    },
    handler,
)
