"""Step files written for Motia 0.x: ``config = {"type": "api" | "event" | "cron" | "noop", ...}``.

Such a config is mapped onto today's :class:`~motia_django.steps.config.StepConfig`
the way Motia's own 0.x → 1.0 migration guide maps it (``type: api`` → an HTTP
trigger, each of ``subscribes`` → a queue trigger, ``cron`` → a cron trigger,
``emits`` → ``enqueues``), and the handler is wrapped so that it is called with
what it was written for: the request as a dict, ``handler(data, context)``,
``handler(context)`` for cron, middleware ``(req, context, next_fn)``.  The
wrappers keep the handler's kind (sync or async), so the HTTP views, queue
delivery and :mod:`motia_django.execution` run it as they run any step.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pydantic
from pydantic import Field

from ..execution import Pending, is_async
from ..steps.config import StepConfig
from ..steps.definition import StepConfigError, StepDefinition, StepHandler, _field_errors, parse_config
from ..steps.io import ApiResponse, MotiaHttpArgs
from ..steps.triggers import Trigger
from ..store import SetResult

if TYPE_CHECKING:
    from ..context import FlowContext
    from ..logs import StepLogger
    from ..state.manager import StateManager
    from ..streams.stream import Streams

__all__ = ["LEGACY_STEP_TYPES", "LegacyContext", "LegacyState", "NoopStepConfig", "is_legacy_config", "legacy_step"]

#: The step kinds of Motia 0.x, named by a config's top-level ``type``.
LEGACY_STEP_TYPES = ("api", "event", "cron", "noop")

#: Top-level keys every 0.x step kind accepts, with today's name where it changed.
_STEP_KEYS = {
    "name": "name", "description": "description", "flows": "flows", "emits": "enqueues",
    "virtualEmits": "virtualEnqueues", "virtual_emits": "virtualEnqueues",
    "virtualSubscribes": "virtualSubscribes", "virtual_subscribes": "virtualSubscribes",
    "includeFiles": "includeFiles", "include_files": "includeFiles", "infrastructure": "infrastructure",
}
#: Keys that move into the trigger, per step kind.
_TRIGGER_KEYS: dict[str, frozenset[str]] = {
    "api": frozenset({"path", "method", "bodySchema", "body_schema", "responseSchema", "response_schema",
                      "queryParams", "query_params", "middleware", "authenticationClasses",
                      "authentication_classes", "permissionClasses", "permission_classes", "throttleClasses",
                      "throttle_classes"}),
    "event": frozenset({"subscribes", "input"}),
    "cron": frozenset({"cron"}),
    "noop": frozenset(),
}
#: What a validation error names, back in the step file's own words.
_RENAMED_FIELDS = {"enqueues": "emits", "virtualEnqueues": "virtualEmits", "virtual_enqueues": "virtualEmits"}
_TRIGGER_FIELD = re.compile(r"^triggers\.\d+\.[a-z]+\.?")


class NoopStepConfig(StepConfig):
    """A 0.x ``noop`` step: drawn in the flow graph with its virtual topics, never run (it has no trigger)."""

    triggers: list[Trigger] = Field(default_factory=list, max_length=0)


def is_legacy_config(config: Any) -> bool:
    """A dict in Motia 0.x's shape: a top-level ``type`` naming a step kind, and no ``triggers``."""
    return isinstance(config, Mapping) and config.get("type") in LEGACY_STEP_TYPES and "triggers" not in config


def legacy_step(config: Mapping[str, Any], handler: Any, file_path: str) -> StepDefinition:
    """The step a 0.x step file defines; raises :class:`StepConfigError` naming the 0.x keys at fault."""
    kind = str(config["type"])
    name = config.get("name") if isinstance(config.get("name"), str) else None
    unknown = sorted(set(config) - {"type"} - set(_STEP_KEYS) - _TRIGGER_KEYS[kind])
    if unknown:
        accepted = ", ".join(sorted({"type", *_STEP_KEYS, *_TRIGGER_KEYS[kind]}))
        raise StepConfigError(name, [(key, f"not a key of a {kind} step (accepted: {accepted})") for key in unknown])
    if kind != "noop" and not callable(handler):
        raise StepConfigError(name, [("handler", f"a {kind} step needs a module-level handler function")])
    step_config = {_STEP_KEYS[key]: value for key, value in config.items() if key in _STEP_KEYS}
    trigger_options = {key: value for key, value in config.items() if key in _TRIGGER_KEYS[kind]}
    try:
        if kind == "noop":
            parsed: StepConfig = _parse_noop(step_config)
            return StepDefinition(parsed, _never_runs, file_path)
        parsed = parse_config({**step_config, "triggers": _triggers(kind, trigger_options, name)})
    except StepConfigError as exc:
        raise StepConfigError(exc.step_name, [(_legacy_field(f), message) for f, message in exc.errors]) from None
    return StepDefinition(parsed, _adapt_handler(kind, handler), file_path)


def _parse_noop(step_config: dict[str, Any]) -> StepConfig:
    try:
        return NoopStepConfig.model_validate(step_config)
    except pydantic.ValidationError as exc:
        name = step_config.get("name") if isinstance(step_config.get("name"), str) else None
        raise StepConfigError(name, _field_errors(exc)) from None


def _legacy_field(field: str) -> str:
    field = _TRIGGER_FIELD.sub("", field)
    head, dot, rest = field.partition(".")
    return _RENAMED_FIELDS.get(head, head) + dot + rest


def _triggers(kind: str, options: dict[str, Any], name: str | None) -> list[dict[str, Any]]:
    """The triggers of a 0.x step, as the migration guide writes them."""
    if kind == "api":
        middleware = options.get("middleware")
        if middleware is not None:
            if not isinstance(middleware, list | tuple) or not all(callable(m) for m in middleware):
                raise StepConfigError(name, [("middleware", "must be a list of functions (req, context, next_fn)")])
            options = {**options, "middleware": [_adapt_middleware(m) for m in middleware]}
        return [{"type": "http", **options}]
    if kind == "event":
        topics = options.get("subscribes")
        if not isinstance(topics, list | tuple) or not topics:
            raise StepConfigError(name, [("subscribes", "an event step subscribes to a non-empty list of topics")])
        return [{"type": "queue", "topic": topic, "input": options.get("input")} for topic in topics]
    if "cron" not in options:
        raise StepConfigError(name, [("cron", "a cron step needs a 'cron' expression, e.g. '0 0 * * 1'")])
    return [{"type": "cron", "cron": options["cron"]}]


def _never_runs(input_value: Any, ctx: FlowContext[Any]) -> None:
    """The handler of a noop step, which has no trigger to call it."""
    name = ctx.step.name if ctx.step is not None else ""
    raise RuntimeError(f"noop step {name!r} has no trigger and never runs")


# -- what a 0.x handler is handed ------------------------------------------------------------------


class LegacyContext:
    """``context`` as a Motia 0.x handler sees it: ``emit``, ``state``, ``streams``, ``logger``, ``trace_id``,
    ``flows``; anything else reads through to today's :class:`~motia_django.context.FlowContext`.

    ``emit`` is today's ``enqueue``: a plain call in sync code, awaited in async code, and refused
    for a topic the step does not list in ``emits``.
    """

    __slots__ = ("_ctx",)

    def __init__(self, ctx: FlowContext[Any]) -> None:
        self._ctx = ctx

    @property
    def trace_id(self) -> str:
        return self._ctx.trace_id

    @property
    def flows(self) -> list[str]:
        return list(self._ctx.step.config.flows) if self._ctx.step is not None else []

    @property
    def logger(self) -> StepLogger:
        return self._ctx.logger

    @property
    def state(self) -> LegacyState:
        return LegacyState(self._ctx.state)

    @property
    def streams(self) -> Streams:
        return self._ctx.streams

    def emit(self, event: Mapping[str, Any]) -> Any:
        """``context.emit({"topic", "data"})``."""
        return self._ctx.enqueue(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


class LegacyState:
    """``context.state`` as a Motia 0.x handler sees it: today's state, except that ``set`` returns the
    stored value, as Motia 0.x's did (today's returns the old and new values)."""

    __slots__ = ("_state",)

    def __init__(self, state: StateManager) -> None:
        self._state = state

    def set(self, scope: str, key: str, value: Any) -> Any:
        """``context.state.set(scope, key, value)``: the value stored (awaited in async code)."""
        written: Any = self._state.set(scope, key, value)
        if hasattr(type(written), "__await__"):
            async def stored() -> Any:
                return _stored_value(await written)

            return Pending("state.set", stored)
        return _stored_value(written)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._state, name)


def _stored_value(written: Any) -> Any:
    return written.new_value if isinstance(written, SetResult) else written


class _Execution:
    """What one execution's middleware and handler share: the request dict and the context."""

    __slots__ = ("context", "request")

    def __init__(self, ctx: FlowContext[Any], input_value: Any) -> None:
        self.context = LegacyContext(ctx)
        self.request = _request_dict(input_value) if isinstance(input_value, MotiaHttpArgs) else None


_executions: weakref.WeakKeyDictionary[FlowContext[Any], _Execution] = weakref.WeakKeyDictionary()


def _execution(input_value: Any, ctx: FlowContext[Any]) -> _Execution:
    found = _executions.get(ctx)
    if found is None:
        found = _executions[ctx] = _Execution(ctx, input_value)
    return found


def _request_dict(args: MotiaHttpArgs[Any]) -> dict[str, Any]:
    """The request as 0.x handlers read it; middleware may add keys, which the handler then sees."""
    request = args.request
    return {"body": request.body, "pathParams": dict(request.path_params),
            "queryParams": dict(request.query_params), "headers": request.headers,
            "user": request.user, "auth": request.auth}


def _response_dict(result: Any) -> Any:
    """What ``next_fn()`` hands a 0.x middleware: a response dict, as it got on Motia."""
    if isinstance(result, ApiResponse):
        return {"status": result.status, "body": result.body, "headers": dict(result.headers)}
    return result


def _arguments(kind: str) -> Callable[[Any, FlowContext[Any]], tuple[Any, ...]]:
    def api_arguments(input_value: Any, ctx: FlowContext[Any]) -> tuple[Any, ...]:
        execution = _execution(input_value, ctx)
        return execution.request, execution.context

    def event_arguments(input_value: Any, ctx: FlowContext[Any]) -> tuple[Any, ...]:
        return input_value, _execution(input_value, ctx).context

    def cron_arguments(input_value: Any, ctx: FlowContext[Any]) -> tuple[Any, ...]:
        return (_execution(input_value, ctx).context,)

    return {"api": api_arguments, "event": event_arguments, "cron": cron_arguments}[kind]


def _adapt_handler(kind: str, handler: Callable[..., Any]) -> StepHandler:
    """Today's ``handler(input, ctx)`` calling a 0.x handler, of the same kind (sync or async)."""
    arguments = _arguments(kind)
    if is_async(handler):
        async def run_async(input_value: Any, ctx: FlowContext[Any]) -> Any:
            return await handler(*arguments(input_value, ctx))

        return run_async

    def run(input_value: Any, ctx: FlowContext[Any]) -> Any:
        return handler(*arguments(input_value, ctx))

    return run


def _adapt_middleware(middleware: Callable[..., Any]) -> Callable[..., Any]:
    """Today's middleware ``(input, ctx, next)`` calling a 0.x one ``(req, context, next_fn)``, of the same kind.

    As on Motia, ``next_fn`` ignores what it is given: the handler reads the request dict, which
    a middleware changes in place.
    """
    if is_async(middleware):
        async def run_async(input_value: Any, ctx: FlowContext[Any], next_handler: Callable[..., Any]) -> Any:
            execution = _execution(input_value, ctx)

            async def next_fn(*_ignored: Any) -> Any:
                return _response_dict(await next_handler())

            return await middleware(execution.request, execution.context, next_fn)

        return run_async

    def run(input_value: Any, ctx: FlowContext[Any], next_handler: Callable[..., Any]) -> Any:
        execution = _execution(input_value, ctx)

        def next_fn(*_ignored: Any) -> Any:
            return _response_dict(next_handler())

        return middleware(execution.request, execution.context, next_fn)

    return run
