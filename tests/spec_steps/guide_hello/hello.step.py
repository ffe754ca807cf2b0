# motia-python-guide.txt, "Quick Start" (steps/hello.step.py): module-level config
# and handler, api() trigger, "emits".
from motia import ApiRequest, ApiResponse, FlowContext, api

config = {
    "name": "hello",
    "description": "Return a greeting",
    "triggers": [api("GET", "/hello/:name")],
    "emits": [],
}

async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    name = req.path_params.get("name", "World")

    ctx.logger.info(f"Greeting {name}")

    return ApiResponse(status=200, body={"message": f"Hello, {name}!"})
