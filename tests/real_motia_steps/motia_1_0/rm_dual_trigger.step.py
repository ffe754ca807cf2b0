"""Motia 1.0 step, in the shape of MotiaDev/motia (Apache-2.0)
``motia-py/playground/steps/multi_trigger/dual_trigger.step.py``:
``queue()`` and ``api()`` triggers on one step, ``emits`` beside ``triggers``, ``ctx.match`` with
``(input, ctx)`` branches reading ``ctx.trigger.topic``/``path``/``method``."""

from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, api, queue

config = {
    "name": "rm-dual-trigger",
    "description": "One step, fired by a message or a request",
    "triggers": [queue("rm.dual"), api("POST", "/rm/dual")],
    "emits": ["rm.dual"],
}


async def _on_message(input: Any, ctx: FlowContext[Any]) -> None:
    ctx.logger.info("Dual trigger fired (event)", {"data": input, "topic": ctx.trigger.topic})
    await ctx.state.set("rm-dual-seen", input["key"], {"data": input, "topic": ctx.trigger.topic})


async def _on_request(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
    ctx.logger.info("Dual trigger fired (api)", {"path": ctx.trigger.path, "method": ctx.trigger.method})
    await ctx.emit({"topic": "rm.dual", "data": {"key": request.body["key"], "via": "api"}})
    return ApiResponse(status=200, body={"path": ctx.trigger.path, "method": ctx.trigger.method})


async def handler(input_data: Any, ctx: FlowContext[Any]) -> Any:
    return await ctx.match({"queue": _on_message, "http": _on_request})
