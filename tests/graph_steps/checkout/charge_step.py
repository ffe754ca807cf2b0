"""In two flows; a conditional enqueue without a label."""

from motia import Enqueue, queue, step


async def handler(data, ctx):
    return None


charge = step(
    {
        "name": "ChargeCard",
        "flows": ["checkout", "billing"],
        "triggers": [queue("order.placed")],
        "enqueues": ["payment.done", Enqueue("payment.failed", conditional=True)],
    },
    handler,
)
