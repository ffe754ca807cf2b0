"""FlowContext: the one object every trigger kind hands to a handler.

HTTP views, queue tasks, cron ticks, state and stream triggers all build a
FlowContext and run the handler through :mod:`motia_django.execution`; what a
handler can do (enqueue, state, streams, logging) lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .execution import (
    NotAwaited,
    Pending,
    acall,
    arun_handler,
    branch_arguments,
    call,
    choose_branch,
    in_async_code,
    run_handler,
)
from .logs import StepLogger
from .steps.io import ApiRequest, MotiaHttpArgs, TriggerInfo
from .steps.triggers import TriggerType
from .tracing.ids import new_message_id, new_trace_id

if TYPE_CHECKING:
    from .state.manager import StateManager
    from .steps.definition import StepDefinition
    from .streams.stream import Streams

__all__ = ["FlowContext", "NoMatchingHandler", "StepNotInvocable", "UndeclaredTopic", "UnknownStep"]

TEnqueueData = TypeVar("TEnqueueData")
_MISSING: Any = object()


class UndeclaredTopic(ValueError):
    """A step enqueued to a topic missing from its ``enqueues``."""


class NoMatchingHandler(LookupError, RuntimeError):
    """``ctx.match`` found no handler for the trigger and no ``default``."""


class UnknownStep(LookupError):
    """``ctx.invoke`` named a step that was not discovered."""


class StepNotInvocable(TypeError):
    """``ctx.invoke`` named a step with no queue trigger, the entry point that takes plain data."""


def _trigger_from(value: TriggerInfo | Mapping[str, Any] | None, step: StepDefinition | None,
                  input_value: Any) -> TriggerInfo:
    """``ctx.trigger`` for a context built by hand: as given, else the step's first trigger, else the input's kind."""
    if isinstance(value, TriggerInfo):
        return value
    if isinstance(value, Mapping):
        return TriggerInfo(**value)
    if step is not None and step.config.triggers:
        return TriggerInfo(type=step.config.triggers[0].kind, index=0)
    return TriggerInfo(type=TriggerType("http" if isinstance(input_value, ApiRequest | MotiaHttpArgs) else "queue"))


class FlowContext(Generic[TEnqueueData]):
    """Runtime capabilities of one step execution (``ctx``).

    The runtime builds it positionally.  Unit tests of handlers build it by
    keyword, as with Motia's own ``FlowContext(enqueue=..., trace_id=..., state=...,
    logger=..., streams=..., trigger=..., input_value=...)``: every argument is
    optional, and the fakes given are what the handler's ``ctx`` uses.
    """

    def __init__(
        self,
        step: StepDefinition | None = None,
        trigger: TriggerInfo | Mapping[str, Any] | None = None,
        trace_id: str | None = None,
        input_value: Any = None,
        depth: int = 0,
        *,
        enqueue: Callable[..., Any] | None = None,
        state: Any = None,
        logger: Any = None,
        streams: Any = None,
    ) -> None:
        self.step = step
        self.trigger = _trigger_from(trigger, step, input_value)
        self.trace_id = trace_id or new_trace_id()
        self.input_value = input_value
        #: How many triggered hops led here (0 for HTTP and cron); bounds state/stream trigger chains.
        self.depth = depth
        self._enqueuer = enqueue
        self._state = state
        self._streams = streams
        self._logger: Any = logger
        self._pending: list[Pending[Any]] | None = None
        self._execution_id: str | None = None

    @property
    def logger(self) -> StepLogger:
        """``ctx.logger``: the step's logger, carrying the trace id."""
        if self._logger is None:
            self._logger = StepLogger(self.step_name, self.trace_id, execution_id=self.execution_id)
        return self._logger  # type: ignore[no-any-return]

    @logger.setter
    def logger(self, value: StepLogger) -> None:
        self._logger = value

    @property
    def execution_id(self) -> str:
        """An id of this one execution (made when first asked for), on every line ``ctx.logger`` writes."""
        if self._execution_id is None:
            self._execution_id = new_message_id()
        return self._execution_id

    @property
    def step_name(self) -> str | None:
        return self.step.name if self.step is not None else None

    # -- queues ---------------------------------------------------------------------------
    def enqueue(self, message: Mapping[str, Any] | str, data: Any = _MISSING) -> None:
        """Publish to a declared topic: ``ctx.enqueue({"topic", "data", "messageGroupId"?})``.

        Also ``ctx.emit(topic, data)``.  Runs at once from sync code; from async
        code ``await`` it (or :meth:`aenqueue`, typed as a coroutine).
        """
        from .queues.publisher import parse_message, publish

        args = () if data is _MISSING else (data,)
        if self._enqueuer is not None:
            return self._enqueuer(message, *args)  # type: ignore[no-any-return]
        topic, payload, group_id = parse_message(message, *args)
        self._check_declared(topic)
        return publish(topic, payload, self.trace_id, group_id, self.step_name, self.depth + 1)

    async def aenqueue(self, message: Mapping[str, Any] | str, data: Any = _MISSING) -> None:
        """:meth:`enqueue` for async code."""
        from .queues.publisher import apublish, parse_message

        args = () if data is _MISSING else (data,)
        if self._enqueuer is not None:
            sent = self._enqueuer(message, *args)
            if hasattr(type(sent), "__await__"):
                await sent
            return
        topic, payload, group_id = parse_message(message, *args)
        self._check_declared(topic)
        await apublish(topic, payload, self.trace_id, group_id, self.step_name, self.depth + 1)

    def _check_declared(self, topic: str) -> None:
        if self.step is None:  # a context built by hand: topics are checked by the publisher only
            return
        declared = self.step.config.enqueue_topics
        if topic not in declared:
            raise UndeclaredTopic(
                f"step {self.step.name!r} may not enqueue to {topic!r}: add it to the step's 'enqueues' "
                f"(declared: {', '.join(declared) or 'none'})"
            )

    emit = enqueue
    aemit = aenqueue

    # -- calling another step ---------------------------------------------------------------
    def invoke(self, step_name: str, data: Any = None) -> Any:
        """Run another step's handler now, in this trace, and return what it returned.

        The step runs as its first queue trigger would run it (``data`` checked
        against that trigger's ``input`` schema; no condition, no retries), and its
        errors reach the caller.  From a sync handler it returns the result; from an
        async handler, ``await`` it.
        """
        target, ctx = self._invocation(step_name, data)
        if in_async_code():
            return Pending("ctx.invoke", lambda: arun_handler(target, data, ctx))
        return run_handler(target, data, ctx)

    def _invocation(self, step_name: str, data: Any) -> tuple[StepDefinition, FlowContext[Any]]:
        from .registry import get_registry

        registry = get_registry()
        target = registry.steps.get(step_name)
        if target is None:
            raise UnknownStep(f"ctx.invoke({step_name!r}): no such step (known: {', '.join(sorted(registry.steps))})")
        entry = next((b for b in registry.subscriptions if b.step is target), None)
        if entry is None:
            kinds = ", ".join(str(t.kind) for t in target.config.triggers) or "none"
            raise StepNotInvocable(
                f"ctx.invoke({step_name!r}): the step has no queue trigger, so nothing of it takes plain data "
                f"(its triggers: {kinds}); enqueue to it or call shared code instead"
            )
        schema = getattr(entry.trigger, "input_schema", None)
        if schema is not None:
            schema.validate(data)
        return target, FlowContext(target, entry.trigger_info(), self.trace_id, data, self.depth + 1)

    # -- state and streams ---------------------------------------------------------------
    @property
    def state(self) -> StateManager:
        from .state.manager import StateManager

        return self._state if self._state is not None else StateManager()

    @property
    def streams(self) -> Streams:
        from .streams.stream import Streams

        return self._streams if self._streams is not None else Streams()

    # -- trigger introspection -------------------------------------------------------------
    def is_api(self) -> bool:
        return self.trigger.type == "http"

    is_http = is_api

    def is_queue(self) -> bool:
        return self.trigger.type == "queue"

    def is_cron(self) -> bool:
        return self.trigger.type == "cron"

    def is_state(self) -> bool:
        return self.trigger.type == "state"

    def is_stream(self) -> bool:
        return self.trigger.type == "stream"

    def get_data(self) -> Any:
        """The payload whatever the trigger: the HTTP body, the message, ``None`` for cron."""
        value = self.input_value
        if isinstance(value, MotiaHttpArgs):
            return value.request.body
        if isinstance(value, ApiRequest):
            return value.body
        return None if self.is_cron() else value

    def match(self, handlers: Mapping[str, Callable[..., Any]]) -> Any:
        """Run the handler for this trigger kind (``http``/``api``, ``queue``, ... or ``default``).

        From a sync handler it returns the branch's result; from an async handler, ``await`` it.
        Each branch runs as its own kind: a sync branch may use the ORM and plain state calls.
        """
        chosen, args = self._branch(handlers)
        if in_async_code():
            return Pending("ctx.match", lambda: acall(chosen, *args))
        return call(chosen, *args)

    def _branch(self, handlers: Mapping[str, Callable[..., Any]]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        kind = str(self.trigger.type)
        found = choose_branch(handlers, kind)
        if found is None:
            raise NoMatchingHandler(
                f"ctx.match() has no handler for a {kind!r} trigger and no 'default' "
                f"(given: {', '.join(handlers) or 'none'})"
            )
        name, chosen = found
        return chosen, branch_arguments(name, chosen, self.input_value, self)

    # -- awaitables handed out in async code --------------------------------------------------
    def track(self, pending: Pending[Any]) -> None:
        """Remember an awaitable this execution handed out (see :meth:`raise_for_unawaited`)."""
        if self._pending is None:
            self._pending = []
        self._pending.append(pending)

    def raise_for_unawaited(self) -> None:
        """Fail the execution if the handler dropped an awaitable: that call did nothing."""
        if not self._pending:
            return
        dropped = [p.label for p in self._pending if not p.awaited]
        self._pending = None
        if dropped:
            raise NotAwaited(
                f"{', '.join(dict.fromkeys(dropped))}(...) was called from async code but never awaited, so it "
                f"did nothing: write 'await {dropped[0]}(...)'"
            )
