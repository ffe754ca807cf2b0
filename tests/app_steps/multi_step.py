"""Motia 1.0's multi_trigger_step builder."""

from motia import ApiResponse, http, multi_trigger_step, queue


async def on_http(req):
    return ApiResponse(status=200, body={"via": "http", "body": req.body})


async def on_queue(data):
    return None


multi = (
    multi_trigger_step({"name": "multi", "triggers": [http("POST", "/multi"), queue("multi.in")],
                        "virtual_enqueues": ["multi.in"]})
    .on_http(on_http)
    .on_queue(on_queue)
    .handlers()
)
