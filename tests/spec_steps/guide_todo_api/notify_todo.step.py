# motia-python-guide.txt, "Complete Example: Todo API" (steps/notify_todo.step.py).
from motia import StepConfig, EventTrigger, FlowContext, step_wrapper

config = StepConfig(
    name="notify-todo-created",
    triggers=[
        EventTrigger(subscribes=["todo.created"])
    ]
)

async def handler(data, ctx: FlowContext):
    ctx.logger.info(f"New todo created: {data['title']}")
    # Send notification logic here

step_wrapper(config, __file__, handler)
