"""POST /todos stores a todo in the ``todos`` stream and announces it."""

import uuid

from motia import ApiRequest, ApiResponse, ApiTrigger, FlowContext, StepConfig, Stream, step_wrapper

todo_stream = Stream("todos")

config = StepConfig(
    name="create-todo",
    flows=["todos"],
    triggers=[
        ApiTrigger(
            path="/todos",
            method="POST",
            body_schema={
                "type": "object",
                "properties": {"title": {"type": "string", "minLength": 1, "pattern": "^[^\\x00-\\x1f]+$"}},
                "required": ["title"],
            },
        )
    ],
    emits=["todo.created"],
)


async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    todo_id = str(uuid.uuid4())
    todo = {"id": todo_id, "title": req.body["title"], "completed": False}

    await todo_stream.set("default", todo_id, todo)
    await ctx.emit("todo.created", todo)

    ctx.logger.info(f"Created todo: {todo_id}")
    return ApiResponse(status=201, body=todo)


step_wrapper(config, __file__, handler)
