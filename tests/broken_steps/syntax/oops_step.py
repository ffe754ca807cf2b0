from motia import http, step

config = {"name": "oops", "triggers": [http("GET", "/oops")]}

async def handler(req, ctx)
    return {"status": 200}
