"""Motia 1.0.3 style: module-level ``config`` and a one-argument async handler on the module-level API."""

from pydantic import BaseModel, Field

from motia import ApiRequest, ApiResponse, Stream, enqueue, http, logger, stateManager

greetings: Stream[dict] = Stream("m103-greetings")


class Greeting(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")  # a state key and a stream item id


config = {
    "name": "m103-greet",
    "description": "Greets through the module-level API, awaited",
    "triggers": [http("POST", "/m103/greet", body_schema=Greeting)],
    "enqueues": ["m103.greeted"],
    "flows": ["m103"],
}


async def handler(request: ApiRequest) -> ApiResponse:
    name = request.body["name"]
    await stateManager.set("m103-names", name, {"name": name, "via": "async"})
    await greetings.set("default", name, {"name": name})
    await enqueue({"topic": "m103.greeted", "data": {"name": name}})
    logger.info("m103 greeted", {"name": name})
    return ApiResponse(status=201, body={"name": name, "count": len(await greetings.get_group("default"))})
