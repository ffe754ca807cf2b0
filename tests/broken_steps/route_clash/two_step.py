from motia import http, step

two = step({"name": "two", "triggers": [http("get", "/items/{itemId}")]}, lambda req, ctx: {"status": 200})
