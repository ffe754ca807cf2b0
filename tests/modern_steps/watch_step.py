"""State and stream triggers with one-argument handlers: the inputs are Motia's pydantic models."""

from motia import StateTriggerInput, StreamTriggerInput, state, stateManager, step, stream


def on_state(input):
    stateManager.set("m103-state-seen", input.item_id, {
        "model": isinstance(input, StateTriggerInput), "dump": input.model_dump(by_alias=True, exclude={"trace_id"}),
    })


async def on_stream(input):
    await stateManager.set("m103-stream-seen", f"{input.id}-{input.event.type}", {
        "model": isinstance(input, StreamTriggerInput), "stream": input.model_dump(by_alias=True)["streamName"],
        "data": input.event.data,
    })


watched = step({"name": "m103-state-watch", "flows": ["m103"],
                "triggers": [state(condition=lambda input, ctx: input.group_id == "m103-watched")]}, on_state)
streamed = step({"name": "m103-stream-watch", "flows": ["m103"],
                 "triggers": [stream("m103-greetings")]}, on_stream)
