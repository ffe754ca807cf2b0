"""Reacts to every new todo."""

from motia import EventTrigger, FlowContext, StepConfig, step_wrapper

config = StepConfig(name="notify-todo-created", flows=["todos"], triggers=[EventTrigger(subscribes=["todo.created"])])


async def handler(data, ctx: FlowContext):
    ctx.logger.info(f"New todo created: {data['title']}")


step_wrapper(config, __file__, handler)
