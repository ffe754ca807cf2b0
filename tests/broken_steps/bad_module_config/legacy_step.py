from motia import queue

config = {
    "name": "legacy",
    "triggers": [queue("t")],
    "infrastructure": {"queue": {"maxRetries": -1}},
}


async def handler(data, ctx):
    return None
