"""Reads the environment from a handler in the web server and in a Celery worker."""

from __future__ import annotations

import os
from typing import Any

from motia import ApiResponse, FlowContext, http, queue, step

PREFIX = "COMPAT_HTTP_"  # only these variables are shown


def _value(name: str) -> str | None:
    return os.environ.get(name) if name.startswith(PREFIX) else None


def read(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    return ApiResponse(200, {"value": _value(input.path_params["name"])})


def probe(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    ctx.enqueue({"topic": "compat-http.env-probe", "data": {"name": input.path_params["name"]}})
    return ApiResponse(202, {"queued": True})


def seen(input: Any, ctx: FlowContext[Any]) -> ApiResponse[Any]:
    found = ctx.state.get("compat-http-env", input.path_params["name"])
    return ApiResponse(200 if found is not None else 404, {"seen": found})


def record(input: Any, ctx: FlowContext[Any]) -> None:
    ctx.state.set("compat-http-env", input["name"], {"value": _value(input["name"])})


read_step = step({"name": "compat-http-env-read", "triggers": [http("GET", "/compat-http/env/:name")]}, read)
probe_step = step({"name": "compat-http-env-probe", "triggers": [http("POST", "/compat-http/env/:name/probe")],
                   "enqueues": ["compat-http.env-probe"]}, probe)
seen_step = step({"name": "compat-http-env-seen", "triggers": [http("GET", "/compat-http/env/:name/seen")]}, seen)
record_step = step({"name": "compat-http-env-record", "triggers": [queue("compat-http.env-probe")]}, record)
