"""A Motia 0.x API step with a sync handler and a sync middleware, path and query parameters, streams."""

from l0_services.auth import stamp_reader

config = {
    "type": "api",
    "name": "l0-get-order",
    "path": "/l0/orders/:id",
    "method": "GET",
    "queryParams": [{"name": "reader", "description": "Who is asking"}],
    "middleware": [stamp_reader],
    "emits": [],
    "flows": ["l0-orders"],
}


def handler(req, context):
    order_id = req.get("pathParams", {}).get("id")
    item = context.streams.l0Orders.get("orders", order_id)
    if item is None:
        return {"status": 404, "body": {"error": f"no order {order_id}", "reader": req["reader"]}}
    return {"status": 200, "body": {**item, "reader": req["reader"]}}
