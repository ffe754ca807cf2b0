from motia import http, step

pending = step({"name": "pending", "triggers": [http("GET", "/pending")]})
