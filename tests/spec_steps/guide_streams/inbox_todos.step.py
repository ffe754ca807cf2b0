# motia-python-guide.txt, "Using Streams" (Python).  The guide shows two handlers
# without configs; the configs at the bottom (marked "added") expose them over HTTP.
from motia import Stream, ApiRequest, ApiResponse, FlowContext, step_wrapper


# -- stand-in for a helper the spec calls but does not define ------------------------
_ids = iter(range(1, 1_000_000))


def generate_id():
    return f"todo-{next(_ids)}"
# --------------------------------------------------------------------------------------


# Define stream
todo_stream = Stream("todos")

async def create_todo(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    todo_id = generate_id()
    todo = {
        "id": todo_id,
        "title": req.body["title"],
        "completed": False
    }

    # Store in stream
    await todo_stream.set("inbox", todo_id, todo)

    return ApiResponse(status=201, body=todo)

async def get_todos(req: ApiRequest, ctx: FlowContext) -> ApiResponse:
    # Get all todos in group
    todos = await todo_stream.get_group("inbox")
    return ApiResponse(status=200, body=todos)


# -- added: configs for the two handlers -----------------------------------------------
from motia import StepConfig, ApiTrigger  # noqa: E402

create_todo_step = step_wrapper(
    StepConfig(name="inbox-create-todo", triggers=[ApiTrigger(path="/inbox/todos", method="POST")]),
    __file__,
    create_todo,
)
get_todos_step = step_wrapper(
    StepConfig(name="inbox-get-todos", triggers=[ApiTrigger(path="/inbox/todos", method="GET")]),
    __file__,
    get_todos,
)
# --------------------------------------------------------------------------------------
