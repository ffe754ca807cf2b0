from motia import http, step

second = step({"name": "same", "triggers": [http("GET", "/b")]}, lambda req, ctx: {"status": 200})
