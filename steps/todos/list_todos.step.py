"""GET /todos lists the todos of the default group."""

from motia import ApiRequest, ApiResponse, ApiTrigger, FlowContext, StepConfig, Stream, step_wrapper

todo_stream = Stream("todos")

config = StepConfig(name="list-todos", flows=["todos"], triggers=[ApiTrigger(path="/todos", method="GET")])


async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    todos = await todo_stream.get_group("default")
    return ApiResponse(status=200, body=todos)


step_wrapper(config, __file__, handler)
