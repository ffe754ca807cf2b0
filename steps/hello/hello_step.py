"""The quick start: GET /hello/:name returns a greeting."""

from motia import ApiRequest, ApiResponse, FlowContext, http

config = {
    "name": "hello",
    "description": "Return a greeting",
    "flows": ["hello"],
    "triggers": [http("GET", "/hello/:name")],
    "enqueues": [],
}


async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    name = req.path_params.get("name", "World")
    ctx.logger.info(f"Greeting {name}")
    return ApiResponse(status=200, body={"message": f"Hello, {name}!"})
