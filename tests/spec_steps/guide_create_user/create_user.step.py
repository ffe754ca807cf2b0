# motia-python-guide.txt, "API Steps" (Python): StepConfig, ApiTrigger with a JSON
# Schema body, ctx.emit and step_wrapper.
from motia import StepConfig, ApiTrigger, ApiRequest, ApiResponse, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
async def create_user(body):
    return {"id": f"user-{body['name'].lower()}", "name": body["name"], "email": body["email"]}
# --------------------------------------------------------------------------------------


config = StepConfig(
    name="create-user",
    triggers=[
        ApiTrigger(
            path="/users",
            method="POST",
            body_schema={
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "format": "email"}
                },
                "required": ["name", "email"]
            }
        )
    ],
    emits=["user.created"]
)

async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    user = await create_user(req.body)

    # Emit event
    await ctx.emit("user.created", user)

    return ApiResponse(status=201, body=user)

step_wrapper(config, __file__, handler)
