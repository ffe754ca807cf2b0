"""``step()`` and its builders: pair a config with a handler."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

import pydantic

from ..execution import acall, branch_arguments, call, choose_branch, is_async
from .config import StepConfig

if TYPE_CHECKING:
    from ..context import FlowContext

__all__ = [
    "MultiTriggerStepBuilder",
    "Step",
    "StepBuilder",
    "StepConfigError",
    "StepDefinition",
    "StepHandler",
    "multi_trigger_step",
    "step",
    "step_wrapper",
]

StepHandler = Callable[[Any, "FlowContext[Any]"], Awaitable[Any] | Any]


class StepConfigError(ValueError):
    """A step's config is invalid; the message names the step and each bad field."""

    def __init__(self, step_name: str | None, errors: list[tuple[str, str]]) -> None:
        self.step_name = step_name
        self.errors = errors
        label = f"step {step_name!r}" if step_name else "step"
        details = "; ".join(f"{field or '<config>'}: {message}" for field, message in errors)
        super().__init__(f"invalid config for {label}: {details}")


def parse_config(config: StepConfig | Mapping[str, Any]) -> StepConfig:
    if isinstance(config, StepConfig):
        return config
    if not isinstance(config, Mapping):
        raise StepConfigError(None, [("", f"config must be a dict or StepConfig, not {type(config).__name__}")])
    try:
        return StepConfig.model_validate(dict(config))
    except pydantic.ValidationError as exc:
        name = config.get("name") if isinstance(config.get("name"), str) else None
        raise StepConfigError(name, _field_errors(exc)) from None


def _field_errors(exc: pydantic.ValidationError) -> list[tuple[str, str]]:
    return [(".".join(str(part) for part in err["loc"]), err["msg"]) for err in exc.errors()]


def _caller_file(depth: int = 2) -> str | None:
    return sys._getframe(depth).f_globals.get("__file__")


class StepDefinition:
    """A complete step. Calling it calls the handler, so decorated handlers stay testable."""

    def __init__(self, config: StepConfig | Mapping[str, Any], handler: StepHandler, file_path: str | None = None):
        if not callable(handler):
            raise TypeError(f"the handler of a step must be callable, not {type(handler).__name__}")
        self.config = parse_config(config)
        self.handler = handler
        self.file_path = file_path

    @property
    def name(self) -> str:
        return self.config.name

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.handler(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<StepDefinition {self.name!r}>"


class Step(StepDefinition):
    """Motia's ``Step(file_path=..., config=...)``: a step known by its file and config, as Motia's own
    tooling builds it, whose handler is optional. Positionally it is a :class:`StepDefinition`."""

    def __init__(self, config: StepConfig | Mapping[str, Any], handler: StepHandler | None = None,
                 file_path: str | None = None) -> None:
        super().__init__(config, handler if handler is not None else _without_handler, file_path)

    def __repr__(self) -> str:
        return f"<Step {self.name!r}>"


def _without_handler(input_value: Any, ctx: FlowContext[Any]) -> None:
    """What a :class:`Step` built without a handler runs: nothing is there to run."""
    name = ctx.step.name if ctx.step is not None else ""
    raise RuntimeError(f"step {name!r} was built without a handler")


class StepBuilder:
    """``step(config)`` without a handler; attach one with ``.handle`` (also a decorator)."""

    def __init__(self, config: StepConfig | Mapping[str, Any], file_path: str | None = None) -> None:
        self.config = parse_config(config)
        self.file_path = file_path
        self.definition: StepDefinition | None = None

    def handle(self, handler: StepHandler) -> StepDefinition:
        self.definition = StepDefinition(self.config, handler, self.file_path)
        return self.definition


def step(config: StepConfig | Mapping[str, Any], handler: StepHandler | None = None) -> Any:
    """Define a step: ``step(config, handler)`` or ``step(config).handle(handler)``."""
    if handler is None:
        return StepBuilder(config, _caller_file())
    return StepDefinition(config, handler, _caller_file())


def step_wrapper(config: StepConfig | Mapping[str, Any], file_path: str, handler: StepHandler) -> StepDefinition:
    """The older module-level form: ``step_wrapper(config, __file__, handler)``."""
    return StepDefinition(config, handler, file_path)


class MultiTriggerStepBuilder:
    """One handler per trigger kind: ``fn(input, ctx)`` (or ``fn(input)``), and ``fn(ctx)`` for cron."""

    def __init__(self, config: StepConfig | Mapping[str, Any], file_path: str | None = None) -> None:
        self.config = parse_config(config)
        self.file_path = file_path
        self._handlers: dict[str, Callable[..., Any]] = {}
        self.definition: StepDefinition | None = None

    def _on(self, kind: str, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        self._handlers[kind] = handler
        return self

    def on_http(self, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("http", handler)

    on_api = on_http

    def on_queue(self, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("queue", handler)

    def on_cron(self, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("cron", handler)

    def on_state(self, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("state", handler)

    def on_stream(self, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("stream", handler)

    def on_default(self, handler: Callable[..., Any]) -> MultiTriggerStepBuilder:
        return self._on("default", handler)

    def handlers(self, handlers: Mapping[str, Callable[..., Any]] | None = None) -> StepDefinition:
        table = {**self._handlers, **(handlers or {})}
        if not table:
            raise StepConfigError(self.config.name, [("handlers", "no trigger handler was given")])

        def select(input: Any, ctx: FlowContext[Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
            kind = str(ctx.trigger.type)
            found = choose_branch(table, kind)
            if found is None:
                raise RuntimeError(f"No handler defined for trigger type: {kind}")
            name, chosen = found
            return chosen, branch_arguments(name, chosen, input, ctx)

        def dispatch(input: Any, ctx: FlowContext[Any]) -> Any:
            chosen, args = select(input, ctx)
            return call(chosen, *args)

        async def adispatch(input: Any, ctx: FlowContext[Any]) -> Any:
            chosen, args = select(input, ctx)
            return await acall(chosen, *args)

        # sync handlers only: a sync step, each handler running on the thread that serves it
        any_async = any(is_async(fn) for fn in table.values())
        self.definition = StepDefinition(self.config, adispatch if any_async else dispatch, self.file_path)
        return self.definition


def multi_trigger_step(config: StepConfig | Mapping[str, Any]) -> MultiTriggerStepBuilder:
    """``multi_trigger_step(config).on_http(h1).on_queue(h2).handlers()``."""
    return MultiTriggerStepBuilder(config, _caller_file())
