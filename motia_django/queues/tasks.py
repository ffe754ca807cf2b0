"""The Celery tasks of the queue runtime.

``motia.deliver`` runs one message for one binding; ``motia.fifo_drain`` works
through one FIFO group.  Both acknowledge late and are re-queued when their
worker dies, so a crash loses nothing.  A database or broker error outside the
handler that outlasts the delivery's patience hands the message back to the
broker instead of acknowledging it.

A failed attempt is a failed task to Celery, once its message was handed on
(retry or dead letter, committed with the attempt's record): ``motia.deliver``
then raises ``Retry`` or the handler's error, so ``task_retry`` /
``task_failure``, the ``task-retried`` / ``task-failed`` events, worker logs and
error trackers see it.  Either way the message is acknowledged, as after a
success: the retry stays the outbox's, never Celery's.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from celery import Task, shared_task
from celery.exceptions import Reject, Retry

from ..registry import get_registry, step_named_by
from .bindings import find_binding
from .dead_letters import bury
from .delivery import Delivery, Outcome, Result
from .fifo import adopt, drain
from .names import DELIVER_TASK, FIFO_DRAIN_TASK, queue_for_trigger
from .outages import DATABASE_OUTAGES
from .outbox import BROKER_ERRORS
from .unknown import hold_unknown

__all__ = ["deliver", "fifo_drain", "report_to_celery"]

logger = logging.getLogger("motia.queues")

INFRASTRUCTURE_ERRORS = (*DATABASE_OUTAGES, *BROKER_ERRORS)


#: Both tasks acknowledge a message only once it has been handed on; a hard time limit
#: hands it back to the broker (where it counts as an attempt), never drops it
#: (``acks_on_timeout``: Celery 5.7).  A failure reported to Celery was handed on already, so it is
#: acknowledged whatever the project's ``task_acks_on_failure_or_timeout``.
_TASK_OPTIONS: dict[str, Any] = {
    "bind": True, "acks_late": True, "reject_on_worker_lost": True, "acks_on_timeout": False, "acks_on_failure": True,
    "ignore_result": True,
}


def report_to_celery(result: Result) -> None:
    """Raise what Celery takes for a retried or failed task when the attempt failed; its message is handed on."""
    if result.outcome is Outcome.RETRY:
        # the error is an Exception (see Delivery); the stubs want ``numbers.Real`` for the float
        raise Retry(exc=cast(Exception, result.error), when=cast(Any, result.delay))
    if result.outcome is Outcome.DEAD:
        raise result.error or RuntimeError("dead letter")


@shared_task(name=DELIVER_TASK, **_TASK_OPTIONS)
def deliver(self: Task[Any, Any], binding_key: str, envelope: dict[str, Any]) -> None:
    binding = find_binding(binding_key)
    if binding is None:  # another release's step: a worker that knows it takes it
        queue = (self.request.delivery_info or {}).get("routing_key") or queue_for_trigger(
            step_named_by(binding_key), "queue", envelope.get("topic"))
        try:
            hold_unknown(binding_key, envelope, queue)
        except INFRASTRUCTURE_ERRORS as exc:
            raise Reject(str(exc), requeue=True) from exc
        return
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    try:
        result = Delivery(binding, envelope, self.request.hostname or "", redelivered=redelivered).run()
    except INFRASTRUCTURE_ERRORS as exc:
        logger.warning("message %s for %s goes back to the broker: %s", envelope.get("id"), binding_key, exc)
        raise Reject(str(exc), requeue=True) from exc
    except Exception as exc:
        logger.exception("message %s for %s failed outside its handler", envelope.get("id"), binding_key)
        try:
            bury(binding, envelope, exc, int(envelope.get("attempt", 1)))
        except Exception:
            raise Reject(exc, requeue=True) from exc
        return
    report_to_celery(result)


@shared_task(name=FIFO_DRAIN_TASK, **_TASK_OPTIONS)
def fifo_drain(self: Task[Any, Any], binding_key: str, group_id: str) -> None:
    binding = get_registry().binding(binding_key)
    if binding is None:
        # the group's messages stay in the database; the relay of a worker that knows the step restarts it
        logger.warning("no step trigger %s in this worker's steps; FIFO group %s waits for a worker that knows it",
                       binding_key, group_id)
        return
    try:
        if binding.key != binding_key and not adopt(binding_key, binding, group_id):
            return  # an earlier release's drain holds the group
        drain(binding, group_id, self.request.hostname or "")
    except INFRASTRUCTURE_ERRORS as exc:
        # the group's messages are safe in the database: the relay restarts it once its lease runs out
        logger.warning("FIFO group %s of %s stopped: %s", group_id, binding_key, exc)
