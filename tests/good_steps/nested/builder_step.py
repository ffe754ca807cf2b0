from motia import http, step

order_step = step({"name": "built", "triggers": [http("GET", "/built")], "virtual_enqueues": ["external"]})


@order_step.handle
async def handler(request, ctx):
    return {"status": 200, "body": {"built": True}}
