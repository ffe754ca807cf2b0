"""TypeScript and JavaScript step files as :class:`StepDefinition`\\ s.

The Node worker loads a file and reports its configs (zod schemas already turned into JSON Schema);
each becomes a step whose handler (and trigger conditions) are Python callables that run the JS code
through the bridge.  HTTP views, queue deliveries and cron ticks therefore run these steps exactly as
they run Python ones: the same validation, retries, dead letters, outbox, traces.  What the handler
asks for through its ``ctx`` is served by the execution's own :class:`FlowContext`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pydantic

from ..steps.definition import StepConfigError, StepDefinition
from ..steps.io import ApiRequest, MotiaHttpArgs
from .bridge import JavaScriptError, NodeWorkerDied, get_bridge

if TYPE_CHECKING:
    from ..context import FlowContext

__all__ = ["JS_SOURCE_EXTENSIONS", "JS_STEP_FILE_SUFFIXES", "JsStepFileError", "load_in_node", "load_js_step_file"]

JS_STEP_FILE_SUFFIXES = (".step.ts", "_step.ts", ".step.js", "_step.js", ".step.mts", ".step.mjs")
#: Files a step may be built from (its own and the modules it imports): a change to one is a step change.
JS_SOURCE_EXTENSIONS = (".ts", ".mts", ".js", ".mjs")

#: What a JavaScript ``ctx`` may call on Python objects: JS method name → Python method.
_STATE_METHODS = frozenset({"get", "set", "update", "delete", "list", "get_group", "list_groups", "clear"})
_STREAM_METHODS = frozenset({"get", "set", "update", "delete", "list", "get_group", "list_groups", "send"})
_LOG_LEVELS = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warning", "error": "error",
               "critical": "critical"}


class JsStepFileError(Exception):
    """A TypeScript or JavaScript step file that cannot be loaded: where, and why (the loader reports it)."""

    def __init__(self, file: Path, line: int | None, message: str, step: str | None = None) -> None:
        self.file, self.line, self.message, self.step = str(file), line, message, step
        super().__init__(f"{file}:{line}: {message}" if line else f"{file}: {message}")


def load_js_step_file(path: Path) -> list[StepDefinition]:
    """Load one TypeScript or JavaScript step file in the Node worker; raises :class:`JsStepFileError`.

    :class:`NodeUnavailable` passes through: it is the project's problem, not the file's, and
    discovery reports it once for all the files it kept from loading.
    """
    reported = load_in_node(path, "load")
    definitions: list[StepDefinition] = []
    for config in reported["steps"]:
        name = config.get("name") if isinstance(config.get("name"), str) else None
        try:
            definitions.append(_definition(config, path))
        except (StepConfigError, TypeError, pydantic.ValidationError) as exc:
            raise JsStepFileError(path, None, str(exc), name) from exc
    return definitions


def load_in_node(path: Path, op: str) -> Any:
    """What the Node worker reports for the file (``op``: ``load`` or ``loadStreams``); raises
    :class:`JsStepFileError` with the file and line of a JavaScript error."""
    try:
        return get_bridge().request(op, {"file": str(path.resolve())})
    except NodeWorkerDied as exc:
        raise JsStepFileError(path, None, str(exc)) from exc
    except JavaScriptError as exc:
        raise JsStepFileError(Path(exc.file) if exc.file else path, exc.line, f"{exc.name}: {exc.js_message}") from exc


def _definition(config: dict[str, Any], path: Path) -> StepDefinition:
    file, name = str(path.resolve()), str(config.get("name"))
    triggers = []
    for index, trigger in enumerate(config.get("triggers") or []):
        trigger = dict(trigger)
        if trigger.pop("conditional", False):
            trigger["condition"] = _condition(file, name, index)
        triggers.append(trigger)
    return StepDefinition({**config, "triggers": triggers}, _handler(file, name), str(path))


def _handler(file: str, name: str) -> Callable[[Any, FlowContext[Any]], Any]:
    def handler(input: Any, ctx: FlowContext[Any]) -> Any:  # noqa: A002 - the handler's own name for it
        return _run(file, name, "handler", input, ctx)

    handler.__qualname__ = f"{name} ({Path(file).name})"
    return handler


def _condition(file: str, name: str, index: int) -> Callable[[Any, FlowContext[Any]], Any]:
    def condition(input: Any, ctx: FlowContext[Any]) -> Any:  # noqa: A002
        return _run(file, name, "condition", input, ctx, index)

    return condition


def _run(file: str, name: str, part: str, input_value: Any, ctx: FlowContext[Any], index: int | None = None) -> Any:
    trigger = {k: v for k, v in _trigger(ctx, index).items() if v is not None}
    return get_bridge().request(
        "call",
        {"file": file, "step": name, "part": part, "input": _input(input_value), "trigger": trigger,
         "traceId": ctx.trace_id},
        lambda message: _serve(ctx, message),
    )


def _trigger(ctx: FlowContext[Any], index: int | None) -> dict[str, Any]:
    t = ctx.trigger
    return {"type": str(t.type), "index": t.index if index is None else index, "path": t.path, "method": t.method,
            "topic": t.topic, "expression": t.expression, "streamName": t.stream_name}


def _input(value: Any) -> Any:
    """What the JS handler receives: an HTTP request as Motia's ``{body, pathParams, ...}``, models as JSON."""
    request = value.request if isinstance(value, MotiaHttpArgs) else value
    if isinstance(request, ApiRequest):
        body = request.body
        return {"body": body.decode("utf-8", "replace") if isinstance(body, bytes) else body,
                "pathParams": request.path_params, "queryParams": request.query_params,
                "headers": dict(request.headers), "method": request.method, "path": request.path}
    if isinstance(value, pydantic.BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    return value


def _serve(ctx: FlowContext[Any], message: Mapping[str, Any]) -> Any:
    """Answer one request of a running JS handler with the execution's own context."""
    op, args = message.get("op") or message.get("note"), list(message.get("args") or [])
    if op == "enqueue":
        return ctx.enqueue(*args[:1])
    if op == "state":
        return getattr(ctx.state, _allowed(message, _STATE_METHODS))(*args)
    if op == "streams":
        return getattr(ctx.streams[str(message.get("stream"))], _allowed(message, _STREAM_METHODS))(*args)
    if op == "log":
        level = _LOG_LEVELS.get(str(message.get("level")), "info")
        getattr(ctx.logger, level)(message.get("message"), message.get("meta"))
        return None
    raise ValueError(f"unknown request {op!r} from a JavaScript step")


def _allowed(message: Mapping[str, Any], methods: frozenset[str]) -> str:
    method = str(message.get("method"))
    if method not in methods:
        raise AttributeError(f"{message.get('op')}.{method} is not available to JavaScript steps "
                             f"(available: {', '.join(sorted(methods))})")
    return method
