"""Motia 1.0 step, in the shape of MotiaDev/motia (Apache-2.0) ``motia-py/playground/steps/greetings/greet.step.py``:
``http("GET", ...)``, ``handler(request, ctx)``, a query parameter that may be a list, and
``await stream.set`` on a module-level ``Stream``."""

from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, Stream, http

greetings: Stream[dict[str, Any]] = Stream("rmGreetings")


def _first(value: str | list[str] | None) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value


config = {
    "name": "rm-greet",
    "description": "Greet and keep the greeting in a stream",
    "triggers": [http("GET", "/rm/greet")],
    "enqueues": [],
}


async def handler(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[dict[str, Any]]:
    name = _first(request.query_params.get("name")) or "world"
    greeting = {"name": name, "message": f"Hello, {name}!"}
    await greetings.set("default", name, greeting)
    ctx.logger.info("Greeting stored", {"name": name})
    return ApiResponse(status=200, body=greeting)
