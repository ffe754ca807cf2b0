"""The Celery tasks of the queue runtime.

``motia.deliver`` runs one message for one binding; ``motia.fifo_drain`` works
through one FIFO group.  Both acknowledge late and are re-queued when their
worker dies, so a crash loses nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task

from ..registry import Binding, get_registry
from .dead_letters import bury
from .delivery import Delivery, Outcome
from .fifo import drain
from .names import DELIVER_TASK, FIFO_DRAIN_TASK
from .outbox import dispatch

__all__ = ["deliver", "fifo_drain"]

logger = logging.getLogger("motia.queues")


def _binding(key: str) -> Binding | None:
    binding = get_registry().binding(key)
    if binding is None:
        logger.error("no step trigger %s in this worker's steps; message dropped", key)
    return binding


@shared_task(bind=True, name=DELIVER_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def deliver(self: Task[Any, Any], binding_key: str, envelope: dict[str, Any]) -> None:
    binding = _binding(binding_key)
    if binding is None:
        return
    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    result = Delivery(binding, envelope, self.request.hostname or "", redelivered=redelivered).attempt()
    if result.outcome is Outcome.RETRY:
        dispatch([binding], {**envelope, "attempt": result.attempt + 1}, delay=result.delay)
    elif result.outcome is Outcome.DEFERRED:
        dispatch([binding], envelope, delay=result.delay)
    elif result.outcome is Outcome.DEAD and result.error is not None:
        bury(binding, envelope, result.error, result.attempt)
        logger.error("message %s for %s is a dead letter: %s", envelope.get("id"), binding_key, result.error)


@shared_task(bind=True, name=FIFO_DRAIN_TASK, acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def fifo_drain(self: Task[Any, Any], binding_key: str, group_id: str) -> None:
    binding = _binding(binding_key)
    if binding is not None:
        drain(binding, group_id, self.request.hostname or "")
