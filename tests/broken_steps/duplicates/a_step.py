from motia import http, step

first = step({"name": "same", "triggers": [http("GET", "/a")]}, lambda req, ctx: {"status": 200})
