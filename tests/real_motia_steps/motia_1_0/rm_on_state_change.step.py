"""Motia 1.0 step, in the shape of MotiaDev/motia (Apache-2.0)
``motia-py/playground/steps/state_example/on_state_change.step.py``:
a ``state()`` trigger with a lambda condition on ``input.group_id``, ``StateTriggerInput`` fields,
and ``await ctx.emit`` of what changed."""

from typing import Any

from motia import FlowContext, StateTriggerInput, state

config = {
    "name": "rm-on-user-state-change",
    "description": "React to a notification being recorded",
    "triggers": [state(condition=lambda input, ctx: input.group_id == "rm-notifications")],
    "enqueues": ["rm.dual"],
    "flows": ["rm-state"],
}


async def handler(input: StateTriggerInput, ctx: FlowContext[Any]) -> None:
    old_status = input.old_value.get("status") if isinstance(input.old_value, dict) else None
    new_status = input.new_value.get("status") if isinstance(input.new_value, dict) else None
    ctx.logger.info("User state changed", {"item_id": input.item_id, "new_status": new_status})
    await ctx.emit({"topic": "rm.dual", "data": {"key": input.item_id, "old": old_status, "new": new_status}})
