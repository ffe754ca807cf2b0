"""FIFO subscriptions: one message at a time per group, in publish order.

Messages wait in :class:`FifoMessage` rows.  A drain holds the group's lease,
delivers the oldest message, and moves on only when it succeeded, was skipped
or was dead-lettered; a failure keeps it at the head until its backoff passes.
An emptied group's lease row is deleted.  A group whose head waits for its
backoff is released and restarted by the relay, which finds groups with a due
message and no live lease.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from functools import partial

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import FifoGroup, FifoMessage
from ..registry import Binding
from .dead_letters import bury
from .delivery import Delivery, Outcome, Result
from .outages import persist
from .policy import policy_for

__all__ = ["adopt", "drain"]


def _lease(binding: str, group: str, holder: str, seconds: float) -> bool:
    now = timezone.now()
    FifoGroup.objects.bulk_create([FifoGroup(binding=binding, group_id=group)], ignore_conflicts=True)
    with transaction.atomic():
        return bool(
            FifoGroup.objects.filter(binding=binding, group_id=group)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now) | Q(holder=holder))
            .update(leased_until=now + timedelta(seconds=seconds), holder=holder)
        )


def _release(binding: str, group: str, holder: str) -> None:
    FifoGroup.objects.filter(binding=binding, group_id=group, holder=holder).update(leased_until=None, holder="")


def _forget_if_empty(binding: str, group: str, holder: str) -> bool:
    """Delete the group's lease row once it holds no message; ``False`` when one arrived meanwhile."""
    FifoGroup.objects.filter(binding=binding, group_id=group, holder=holder).delete()
    return not FifoMessage.objects.filter(binding=binding, group_id=group).exists()


def adopt(key: str, binding: Binding, group: str) -> bool:
    """Move a group an earlier release wrote under its positional key (``Step#0:topic``) to ``binding.key``.

    ``False`` while a drain of that release holds the group: it drains the group itself.
    """
    holder = uuid.uuid4().hex
    if not _lease(key, group, holder, policy_for(binding).lease_seconds):
        return False
    with transaction.atomic():
        FifoMessage.objects.filter(binding=key, group_id=group).update(binding=binding.key)
        FifoGroup.objects.filter(binding=key, group_id=group, holder=holder).delete()
    return True


def drain(binding: Binding, group: str, worker: str = "") -> None:
    lease_seconds = policy_for(binding).lease_seconds
    holder = uuid.uuid4().hex
    while _lease(binding.key, group, holder, lease_seconds):
        retry_in = _drain_leased(binding, group, holder, lease_seconds, worker)
        if retry_in is None:
            if _forget_if_empty(binding.key, group, holder):
                return
            continue  # a message arrived as the group emptied: lease it again
        _release(binding.key, group, holder)  # the relay restarts the group when its head is due
        return


def _drain_leased(binding: Binding, group: str, holder: str, lease_seconds: float, worker: str) -> float | None:
    """Deliver due messages in order; returns seconds until the head is due again, or None when empty."""
    while True:
        head = FifoMessage.objects.filter(binding=binding.key, group_id=group).order_by("id").first()
        if head is None:
            return None
        now = timezone.now()
        if head.available_at and head.available_at > now:
            return (head.available_at - now).total_seconds()
        delivery = Delivery(binding, head.envelope, worker, fifo=True)
        result = delivery.attempt()
        if result.outcome in (Outcome.RETRY, Outcome.DEFERRED):
            persist(partial(_keep_at_head, delivery, head, result.delay), delivery.deadline, "scheduling a retry")
            return result.delay
        persist(partial(_move_on, delivery, head, result), delivery.deadline, "recording the attempt")
        if not _lease(binding.key, group, holder, lease_seconds):
            return None


def _keep_at_head(delivery: Delivery, head: FifoMessage, delay: float) -> None:
    with transaction.atomic():
        delivery.record(now=True)
        head.available_at = timezone.now() + timedelta(seconds=delay)
        head.save(update_fields=["available_at"])


def _move_on(delivery: Delivery, head: FifoMessage, result: Result) -> None:
    with transaction.atomic():
        delivery.record(now=True)
        if result.outcome is Outcome.DEAD and result.error is not None:
            bury(delivery.binding, head.envelope, result.error, result.attempt)
        head.delete()
