# motia-python-guide.txt, "Complete Example: Todo API" (steps/list_todos.step.py).
from motia import StepConfig, ApiTrigger, ApiRequest, ApiResponse, FlowContext, Stream, step_wrapper

todo_stream = Stream("todos")

config = StepConfig(
    name="list-todos",
    triggers=[
        ApiTrigger(path="/todos", method="GET")
    ]
)

async def handler(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    todos = await todo_stream.get_group("default")
    return ApiResponse(status=200, body=todos)

step_wrapper(config, __file__, handler)
