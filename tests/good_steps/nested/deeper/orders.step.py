from motia import Enqueue, http, queue, step


async def handler(input, ctx):
    return None


default = step(
    {
        "name": "producer",
        "flows": ["f"],
        "triggers": [http("POST", "/produce")],
        "enqueues": ["used", Enqueue(topic="dangling", label="Nobody listens", conditional=True)],
    },
    handler,
)
consumer = step({"name": "consumer", "triggers": [queue("used"), queue("orphan")]}, handler)
virtual = step({"name": "virtual", "triggers": [queue("external")], "virtual_subscribes": []}, handler)
