"""Motia 1.0.3 style, sync: the module-level calls return their values directly."""

from pydantic import BaseModel, Field

from motia import ApiRequest, Stream, enqueue, http, logger, stateManager

greetings: Stream[dict] = Stream("m103-greetings")


class Greeting(BaseModel):
    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")  # a state key and a stream item id


config = {
    "name": "m103-sync-greet",
    "triggers": [http("POST", "/m103/sync-greet", body_schema=Greeting)],
    "enqueues": ["m103.greeted"],
    "flows": ["m103"],
}


def handler(request: ApiRequest) -> dict:
    name = request.body["name"]
    written = stateManager.set("m103-names", name, {"name": name, "via": "sync"})
    greetings.set("default", name, {"name": name})
    enqueue({"topic": "m103.greeted", "data": {"name": name}})
    logger.warn("m103 sync greeted", {"name": name})
    group = greetings.get_group("default")
    return {"status": 201, "body": {
        "stored": written.new_value, "read": stateManager.get("m103-names", name),
        "group_is_list": isinstance(group, list), "count": len(group),
    }}
