"""One attempt of one background execution: a queue message, cron tick, state or stream change.

:class:`Delivery` validates the input, honours ``concurrency``, evaluates the
condition, runs the handler under its timeout and records the attempt; it
returns an :class:`Outcome` and leaves what happens next (retry, dead letter,
next FIFO message) to its caller.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import time
from dataclasses import dataclass
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.db.models import Max

from ..conf import motia_settings
from ..context import FlowContext
from ..execution import (
    HandlerTimeout,
    acondition_passes,
    arun_handler,
    condition_passes,
    interrupt_after,
    is_async,
    replace_stuck_helper,
    run_coroutine,
    run_handler,
)
from ..models import Execution
from ..registry import Binding
from ..schemas import SchemaViolation
from ..steps.io import StateTriggerInput, StreamEvent, StreamTriggerInput
from ..steps.triggers import EventTrigger, QueueTrigger
from ..tracing import records
from . import concurrency
from .policy import DeliveryPolicy, policy_for

__all__ = [
    "Delivery",
    "HandlerTimeout",
    "InvalidInput",
    "Outcome",
    "Result",
    "TooManyAttempts",
    "execute",
    "handler_input",
]


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    RETRY = "retry"
    DEAD = "dead"
    DEFERRED = "deferred"


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    delay: float = 0.0
    error: BaseException | None = None
    attempt: int = 1


class InvalidInput(ValueError):
    """The message does not match the trigger's ``input`` schema: retrying cannot help."""


class TooManyAttempts(RuntimeError):
    """The message was delivered more often than its retries allow without finishing."""


def handler_input(binding: Binding, envelope: dict[str, Any]) -> Any:
    """What the handler receives for this kind of trigger."""
    data: Any = envelope.get("data")
    kind = binding.trigger.kind
    if kind == "cron":
        return None
    if kind == "state":
        return StateTriggerInput(**data, trace_id=envelope.get("traceId"))
    if kind == "stream":
        return StreamTriggerInput(
            stream_name=data["stream_name"], group_id=data["group_id"], id=data["id"],
            event=StreamEvent(**data["event"]), timestamp=data["timestamp"],
        )
    return data


class Delivery:
    """Attempt ``envelope`` for ``binding``.

    The attempt number comes from the envelope (retries carry it forward).  A
    message the broker handed out again (``redelivered``: its worker died
    mid-attempt) counts as one attempt more than any recorded, and its attempts
    are recorded before the handler runs, so a message that keeps killing its
    worker still runs out of attempts.  FIFO heads stay in place between
    attempts, so theirs are always counted from the records.
    """

    def __init__(
        self, binding: Binding, envelope: dict[str, Any], worker: str = "", *, redelivered: bool = False,
        fifo: bool = False,
    ) -> None:
        self.binding = binding
        self.envelope = envelope
        self.worker = worker
        self.redelivered = redelivered
        self.fifo = fifo
        self.policy: DeliveryPolicy = policy_for(binding)

    def attempt(self) -> Result:
        slot = None
        if self.policy.concurrency:
            slot = concurrency.acquire(self.binding.key, self.policy.concurrency, self._lease_seconds())
            if slot is None:
                return Result(Outcome.DEFERRED, delay=0.1)
        try:
            return self._attempt()
        finally:
            if slot is not None:
                concurrency.release(self.binding.key, slot)

    def _lease_seconds(self) -> float:
        return max(self.policy.visibility_timeout, (self.policy.timeout or 0) + 5)

    def _number(self) -> int:
        number = int(self.envelope.get("attempt", 1))
        if self.redelivered or self.fifo:
            recorded = (
                Execution.objects.filter(message_id=self.envelope["id"], binding=self.binding.key)
                .aggregate(last=Max("attempt"))["last"] or 0
            )
            number = max(number, recorded) + 1 if self.redelivered else recorded + 1
        return number

    def _attempt(self) -> Result:
        number = self._number()
        fields = records.fields(
            trace_id=self.envelope["traceId"], step=self.binding.step.name,
            trigger_type=str(self.binding.trigger.kind), binding=self.binding.key,
            message_id=self.envelope["id"], topic=self.binding.topic or "", worker=self.worker, attempt=number,
        )
        execution = records.begin(fields) if self.redelivered or self.fifo else None
        started = time.perf_counter()

        def end(status: str, outcome: Outcome, error: BaseException | None = None, delay: float = 0.0) -> Result:
            if execution is not None:
                records.finish(execution, status, started, error)
            elif motia_settings().TRACING:
                records.record(fields, status, started, error)
            return Result(outcome, delay=delay, error=error, attempt=number)

        if number > self.policy.max_attempts:
            return end(Execution.Status.DEAD, Outcome.DEAD, TooManyAttempts(
                f"delivered {number - 1} time(s) without finishing (its worker was probably lost); "
                f"the limit is {self.policy.max_attempts}"
            ))
        try:
            ran = self._run()
        except InvalidInput as exc:
            return end(Execution.Status.DEAD, Outcome.DEAD, exc)
        except (Exception, SoftTimeLimitExceeded) as exc:
            error: BaseException = (
                HandlerTimeout(f"handler exceeded {self.policy.timeout}s")
                if isinstance(exc, SoftTimeLimitExceeded) else exc
            )
            if number < self.policy.max_attempts:
                return end(Execution.Status.FAILED, Outcome.RETRY, error, self.policy.backoff_seconds(number))
            return end(Execution.Status.DEAD, Outcome.DEAD, error)
        if ran:
            return end(Execution.Status.SUCCEEDED, Outcome.SUCCEEDED)
        return end(Execution.Status.SKIPPED, Outcome.SKIPPED)

    def _run(self) -> bool:
        """Validate, check the condition and run the handler; ``False`` when skipped."""
        ran, _, _ = execute(
            self.binding, handler_input(self.binding, self.envelope), self.envelope["traceId"],
            depth=self.envelope.get("depth", 0), timeout=self.policy.timeout,
        )
        return ran


@functools.lru_cache(maxsize=4096)
def _runs_async(binding: Binding) -> bool:
    """Whether the binding's condition or handler is async (then they run on the thread's loop)."""
    condition = binding.trigger.condition
    return is_async(binding.step.handler) or (condition is not None and is_async(condition))


def execute(
    binding: Binding, value: Any, trace_id: str, *, depth: int = 0, timeout: float | None = None
) -> tuple[bool, Any, FlowContext[Any]]:
    """One background execution from sync code: input schema, condition, handler under its timeout.

    A sync handler runs on this thread and is interrupted when it passes
    ``timeout``; an async one runs on this thread's event loop.  Returns whether
    the handler ran, what it returned, and its context.
    """
    trigger = binding.trigger
    if isinstance(trigger, QueueTrigger | EventTrigger) and trigger.input_schema is not None:
        try:
            trigger.input_schema.validate(value)
        except SchemaViolation as exc:
            raise InvalidInput(f"message does not match the input schema: {exc}") from None
    ctx: FlowContext[Any] = FlowContext(binding.step, binding.trigger_info(), trace_id, value, depth)
    if _runs_async(binding):
        return run_coroutine(_aexecute(binding, value, ctx, timeout))
    if not condition_passes(trigger.condition, value, ctx):
        ctx.logger.debug("condition is false; skipped")
        return False, None, ctx
    with interrupt_after(timeout, f"handler exceeded {timeout}s"):
        result = run_handler(binding.step, value, ctx)
    return True, result, ctx


async def _aexecute(
    binding: Binding, value: Any, ctx: FlowContext[Any], timeout: float | None
) -> tuple[bool, Any, FlowContext[Any]]:
    if not await acondition_passes(binding.trigger.condition, value, ctx):
        ctx.logger.debug("condition is false; skipped")
        return False, None, ctx
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            result = await arun_handler(binding.step, value, ctx)
    except TimeoutError:
        if not deadline.expired():
            raise  # the handler's own TimeoutError
        replace_stuck_helper()  # a sync call of the handler may still hold the helper thread
        raise HandlerTimeout(f"handler exceeded {timeout}s") from None
    return True, result, ctx
