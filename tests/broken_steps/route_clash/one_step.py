from motia import http, step

one = step({"name": "one", "triggers": [http("GET", "/items/:id")]}, lambda req, ctx: {"status": 200})
