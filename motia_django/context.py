"""FlowContext: the one object every trigger kind hands to a handler.

HTTP views, queue tasks, cron ticks, state and stream triggers all build a
FlowContext and run the handler through :mod:`motia_django.execution`; what a
handler can do (enqueue, state, streams, logging) lives here once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from .execution import NotAwaited, Pending, acall, call, in_async_code, positional_arity
from .logs import StepLogger
from .steps.io import ApiRequest, MotiaHttpArgs, TriggerInfo

if TYPE_CHECKING:
    from .state.manager import StateManager
    from .steps.definition import StepDefinition
    from .streams.stream import Streams

__all__ = ["FlowContext", "NoMatchingHandler", "UndeclaredTopic"]

TEnqueueData = TypeVar("TEnqueueData")
_MISSING: Any = object()


class UndeclaredTopic(ValueError):
    """A step enqueued to a topic missing from its ``enqueues``."""


class NoMatchingHandler(LookupError, RuntimeError):
    """``ctx.match`` found no handler for the trigger and no ``default``."""


class FlowContext(Generic[TEnqueueData]):
    """Runtime capabilities of one step execution (``ctx``)."""

    def __init__(
        self, step: StepDefinition, trigger: TriggerInfo, trace_id: str, input_value: Any = None, depth: int = 0
    ) -> None:
        self.step = step
        self.trigger = trigger
        self.trace_id = trace_id
        self.input_value = input_value
        #: How many triggered hops led here (0 for HTTP and cron); bounds state/stream trigger chains.
        self.depth = depth
        self._logger: StepLogger | None = None
        self._pending: list[Pending[Any]] | None = None

    @property
    def logger(self) -> StepLogger:
        """``ctx.logger``: the step's logger, carrying the trace id."""
        if self._logger is None:
            self._logger = StepLogger(self.step.name, self.trace_id)
        return self._logger

    @logger.setter
    def logger(self, value: StepLogger) -> None:
        self._logger = value

    @property
    def step_name(self) -> str:
        return self.step.name

    # -- queues ---------------------------------------------------------------------------
    def enqueue(self, message: Mapping[str, Any] | str, data: Any = _MISSING) -> None:
        """Publish to a declared topic: ``ctx.enqueue({"topic", "data", "messageGroupId"?})``.

        Also ``ctx.emit(topic, data)``.  Runs at once from sync code; from async
        code ``await`` it (or :meth:`aenqueue`, typed as a coroutine).
        """
        from .queues.publisher import parse_message, publish

        topic, payload, group_id = parse_message(message, *(() if data is _MISSING else (data,)))
        self._check_declared(topic)
        return publish(topic, payload, self.trace_id, group_id, self.step.name, self.depth + 1)

    async def aenqueue(self, message: Mapping[str, Any] | str, data: Any = _MISSING) -> None:
        """:meth:`enqueue` for async code."""
        from .queues.publisher import apublish, parse_message

        topic, payload, group_id = parse_message(message, *(() if data is _MISSING else (data,)))
        self._check_declared(topic)
        await apublish(topic, payload, self.trace_id, group_id, self.step.name, self.depth + 1)

    def _check_declared(self, topic: str) -> None:
        declared = self.step.config.enqueue_topics
        if topic not in declared:
            raise UndeclaredTopic(
                f"step {self.step.name!r} may not enqueue to {topic!r}: add it to the step's 'enqueues' "
                f"(declared: {', '.join(declared) or 'none'})"
            )

    emit = enqueue
    aemit = aenqueue

    # -- state and streams ---------------------------------------------------------------
    @property
    def state(self) -> StateManager:
        from .state.manager import StateManager

        return StateManager()

    @property
    def streams(self) -> Streams:
        from .streams.stream import Streams

        return Streams()

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
        names = ("http", "api") if kind == "http" else ("queue", "event") if kind == "queue" else (kind,)
        chosen = next((handlers[n] for n in names if handlers.get(n)), None) or handlers.get("default")
        if chosen is None:
            raise NoMatchingHandler(
                f"ctx.match() has no handler for a {kind!r} trigger and no 'default' "
                f"(given: {', '.join(handlers) or 'none'})"
            )
        return chosen, (self.input_value,)[:positional_arity(chosen)]

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
