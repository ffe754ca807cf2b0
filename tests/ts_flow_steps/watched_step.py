"""A Python step whose state writes the JavaScript ``TsfStateWatch`` step reacts to."""

from __future__ import annotations

from typing import Any

from motia import ApiRequest, FlowContext, http

config = {"name": "TsfWriteWatched", "triggers": [http("PUT", "/tsf/watched/:key")]}


def handler(request: ApiRequest[Any], ctx: FlowContext[Any]) -> dict[str, Any]:
    ctx.state.set("tsf-watched", request.path_params["key"], request.body)
    return {"status": 204}
