"""A cycle: enqueues to the topic it subscribes to."""

from motia import queue, step


async def handler(data, ctx):
    return None


retry = step(
    {
        "name": "RetryPayment",
        "flows": ["billing"],
        "triggers": [queue("payment.failed")],
        "enqueues": ["payment.failed", "payment.done"],
    },
    handler,
)
