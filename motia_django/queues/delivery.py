"""One attempt of one background execution: a queue message, cron tick, state or stream change.

:class:`Delivery` validates the input, honours ``concurrency``, evaluates the
condition, runs the handler under its timeout and returns an :class:`Outcome`;
:meth:`Delivery.run` then records the attempt and hands the message on (a
retry or a dead letter) in one transaction.  FIFO drains decide what happens
next themselves (see :mod:`.fifo`).
"""

from __future__ import annotations

import asyncio
import enum
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from celery.exceptions import SoftTimeLimitExceeded
from django.db import transaction

from .. import metrics
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
from ..tracing.otel import continued_trace
from . import concurrency, payloads
from .dead_letters import bury
from .outages import DATABASE_OUTAGES, persist
from .outbox import dispatch
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

logger = logging.getLogger("motia.queues")

T = TypeVar("T")


class Outcome(enum.Enum):
    SUCCEEDED = "succeeded"
    SKIPPED = "skipped"
    RETRY = "retry"
    DEAD = "dead"
    #: FIFO head without a free concurrency slot: tried again after ``delay``
    DEFERRED = "deferred"
    #: no free concurrency slot: the message waits in the database for one
    PARKED = "parked"
    #: a copy of an attempt that already ended and handed its message on: nothing to do
    DUPLICATE = "duplicate"


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
    if kind in ("state", "stream"):
        data = payloads.resolve(data)
    if kind == "state":
        return StateTriggerInput(**data, trace_id=envelope.get("traceId"))
    if kind == "stream":
        return StreamTriggerInput(
            stream_name=data["stream_name"], group_id=data["group_id"], id=data["id"],
            event=StreamEvent(**data["event"]), timestamp=data["timestamp"],
        )
    return data


_ENDED = frozenset({Execution.Status.SUCCEEDED, Execution.Status.SKIPPED, Execution.Status.FAILED,
                    Execution.Status.DEAD})


class Delivery:
    """Attempt ``envelope`` for ``binding``, then hand the message on (:meth:`run`).

    The attempt number comes from the envelope (retries carry it forward).  A
    message the broker handed out again (``redelivered``) is looked up in the
    records first: if its attempt already ended, the retry or dead letter that
    attempt produced was committed with its record, so this copy is a duplicate
    and does nothing.  Otherwise it counts as one attempt more than any
    recorded, and is recorded before the handler runs, so a message that keeps
    killing its worker still runs out of attempts.  FIFO heads stay in place
    between attempts, so theirs are always counted from the records.

    The delivery's own database writes ride out an outage until ``deadline``
    (``time.monotonic()``; by default ``OUTAGE_PATIENCE`` from now).
    """

    def __init__(
        self, binding: Binding, envelope: dict[str, Any], worker: str = "", *, redelivered: bool = False,
        fifo: bool = False, deadline: float | None = None,
    ) -> None:
        self.binding = binding
        self.envelope = envelope
        self.worker = worker
        self.redelivered = redelivered
        self.fifo = fifo
        self.policy: DeliveryPolicy = policy_for(binding)
        self.deadline = time.monotonic() + motia_settings().OUTAGE_PATIENCE if deadline is None else deadline
        self._fields: dict[str, Any] = {}
        self._execution: Execution | None = None
        self._started = 0.0
        self._status = ""
        self._error: BaseException | None = None

    def _persist(self, operation: Callable[[], T], what: str) -> T:
        return persist(operation, self.deadline, what)

    def run(self) -> Result:
        """Attempt the message, then record the attempt and pass the message on (retry, dead letter)."""
        result = self.attempt()
        if result.outcome is Outcome.RETRY:
            retry = {key: value for key, value in self.envelope.items() if key != "resent"}
            retry["attempt"] = result.attempt + 1
            self._persist(lambda: self._record_with(lambda: dispatch([self.binding], retry, delay=result.delay)),
                          "scheduling a retry")
        elif result.outcome is Outcome.DEAD:
            error = result.error or RuntimeError("dead letter")
            self._persist(lambda: self._record_with(
                lambda: bury(self.binding, self.envelope, error, result.attempt)), "writing a dead letter")
        elif result.outcome in (Outcome.SUCCEEDED, Outcome.SKIPPED):
            self._persist(self.record, "recording the attempt")
        return result

    def _record_with(self, hand_on: Callable[[], object]) -> None:
        """The attempt's record and what it hands on commit together, so a redelivered copy can tell it ended."""
        with transaction.atomic():
            self.record(now=True)
            hand_on()

    def record(self, *, now: bool = False) -> None:
        """Write the attempt's outcome: at once when it was begun or ``now``, else batched (when tracing)."""
        if not self._status:
            return
        if self._execution is not None:
            records.finish(self._execution, self._status, self._started, self._error)
        elif now:
            records.write(self._fields, self._status, self._started, self._error)
        elif motia_settings().TRACING:
            records.record(self._fields, self._status, self._started, self._error)

    def attempt(self) -> Result:
        """Run the attempt and return its outcome; nothing is recorded or handed on yet (see :meth:`run`)."""
        slot = None
        if self.policy.concurrency:
            slot = self._persist(lambda: concurrency.acquire(self.binding, self.envelope["id"]),
                                 "taking a concurrency slot")
            if slot is None:
                if self.fifo:  # the group's head stays in place; the drain comes back for it
                    return Result(Outcome.DEFERRED, delay=motia_settings().RELAY_INTERVAL)
                self._persist(lambda: concurrency.park(self.binding, self.envelope), "parking the message")
                return Result(Outcome.PARKED)
        try:
            return self._attempt()
        finally:
            if slot is not None:
                self._give_back(slot)

    def _give_back(self, slot: concurrency.Slot) -> None:
        try:
            self._persist(lambda: concurrency.release(self.binding, slot), "releasing a concurrency slot")
        except DATABASE_OUTAGES as exc:
            logger.warning("could not release a concurrency slot of %s (its lease will run out): %s",
                           self.binding.key, exc)

    def _number(self) -> int | None:
        """This attempt's number, or ``None`` for a copy of an attempt that ended.

        Copies come from the broker (``redelivered``) or from the relay, which resends
        an outbox row whose sender may have died between sending and deleting it (``resent``).
        """
        number = int(self.envelope.get("attempt", 1))
        copy = self.redelivered or bool(self.envelope.get("resent"))
        if not (copy or self.fifo):
            return number
        rows = list(Execution.objects.filter(message_id=self.envelope["id"], binding=self.binding.key)
                    .values_list("attempt", "status"))
        if copy and any(attempt >= number and status in _ENDED for attempt, status in rows):
            return None
        recorded = max((attempt for attempt, _ in rows), default=0)
        if self.fifo:
            return recorded + 1
        return max(number, recorded) + 1 if self.redelivered else number

    def _attempt(self) -> Result:
        number = self._persist(self._number, "counting attempts")
        if number is None:
            logger.info("message %s for %s was redelivered after its attempt ended; dropped the copy",
                        self.envelope["id"], self.binding.key)
            return Result(Outcome.DUPLICATE)
        self._fields = records.fields(
            trace_id=self.envelope["traceId"], step=self.binding.step.name,
            trigger_type=str(self.binding.trigger.kind), binding=self.binding.key,
            message_id=self.envelope["id"], topic=self.binding.topic or "", worker=self.worker, attempt=number,
        )
        if self.redelivered or self.fifo:
            self._execution = self._persist(lambda: records.begin(self._fields), "recording the attempt")
        self._started = time.perf_counter()

        def end(status: str, outcome: Outcome, error: BaseException | None = None, delay: float = 0.0) -> Result:
            self._status, self._error = status, error
            metrics.attempt_ended(self.binding, status, time.perf_counter() - self._started, self.envelope, number,
                                  fifo=self.fifo)
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
        with continued_trace(self.envelope.get("traceContext")):
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
