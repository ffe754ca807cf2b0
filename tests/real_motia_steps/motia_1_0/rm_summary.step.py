"""Motia 1.0 step, in the shape of MotiaDev/motia (Apache-2.0) ``motia-py/playground/steps/greetings/summary.step.py``:
``api()`` and ``cron()`` triggers, ``"emits": []`` beside ``triggers``, and ``ctx.match`` with
branches ``(request, ctx)`` and ``(ctx)``."""

from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, Stream, api, cron

greetings: Stream[dict[str, Any]] = Stream("rmGreetings")

config = {
    "name": "rm-greetings-summary",
    "description": "Summarize greetings via API or once a year",
    "triggers": [api("GET", "/rm/greetings/summary"), cron("0 0 1 1 *")],
    "emits": [],
}


async def _summary_api(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[dict[str, Any]]:
    found = await greetings.get_group("default")
    ctx.logger.info("Greetings summary requested", {"count": len(found)})
    return ApiResponse(status=200, body={"count": len(found), "names": sorted(g["name"] for g in found),
                                         "trigger": ctx.trigger.type})


async def _summary_cron(ctx: FlowContext[Any]) -> dict[str, Any]:
    found = await greetings.get_group("default")
    ctx.logger.info("Greetings summary (cron)", {"count": len(found)})
    return {"count": len(found), "trigger": ctx.trigger.type}


async def handler(input_data: Any, ctx: FlowContext[Any]) -> Any:
    return await ctx.match({"http": _summary_api, "cron": _summary_cron})
