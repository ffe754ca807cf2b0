"""Middleware that short-circuits, a condition on the trigger, and ctx.match."""

from motia import ApiResponse, ApiTrigger, FlowContext, StepConfig, step_wrapper


async def auth_middleware(req, ctx: FlowContext, next_handler):
    token = req.headers.get("authorization")
    if not token:
        return ApiResponse(status=401, body={"error": "Unauthorized"})
    ctx.user = {"name": token.removeprefix("Bearer ")}
    response = await next_handler(req, ctx)
    response.headers["X-Middleware"] = "auth"
    return response


def is_verified_user(input, ctx: FlowContext) -> bool:
    return input.headers.get("x-verified") == "true"


config = StepConfig(
    name="protected-route",
    triggers=[ApiTrigger(path="/protected", method="GET", middleware=[auth_middleware], condition=is_verified_user)],
)


async def handler(req, ctx: FlowContext):
    async def handle_http(request):
        return ApiResponse(status=200, body={"message": f"Hello, {ctx.user['name']}"})

    return await ctx.match({"http": handle_http})


step_wrapper(config, __file__, handler)
