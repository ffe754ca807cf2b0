"""Response shapes: dicts, lists, strings, empty bodies, custom status codes, errors."""

from motia import ApiResponse, http, step


async def respond(req, ctx):
    kind = req.path_params["kind"]
    if kind == "dict":
        return {"status": 201, "body": {"ok": True}, "headers": {"X-Kind": "dict"}}
    if kind == "list":
        return ApiResponse(status=200, body=[1, 2, 3])
    if kind == "string":
        return ApiResponse(status=200, body="plain")
    if kind == "text":
        return ApiResponse(status=200, body="hello text", headers={"Content-Type": "text/plain"})
    if kind == "empty":
        return ApiResponse(status=204)
    if kind == "teapot":
        return ApiResponse(status=418, body={"error": "short and stout"})
    if kind == "boom":
        raise RuntimeError("secret internal detail")
    if kind == "nothing":
        return None
    if kind == "badschema":
        return ApiResponse(status=200, body={"count": "not a number"})
    return ApiResponse(status=200, body={"count": 3})


responses_step = step(
    {
        "name": "responses",
        "triggers": [
            http(
                "GET",
                "/responses/:kind",
                response_schema={200: {"type": ["object", "array", "string"],
                                       "properties": {"count": {"type": "integer"}}}},
            )
        ],
    },
    respond,
)
