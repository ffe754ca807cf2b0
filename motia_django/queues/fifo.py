"""FIFO subscriptions: one message at a time per group, in publish order.

Messages wait in :class:`FifoMessage` rows.  A drain holds the group's lease,
delivers the oldest message, and moves on only when it succeeded, was skipped
or was dead-lettered; a failure keeps it at the head until its backoff passes.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from ..models import FifoGroup, FifoMessage
from ..registry import Binding
from .dead_letters import bury
from .delivery import Delivery, Outcome
from .outbox import kick_groups
from .policy import policy_for

__all__ = ["drain"]


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


def drain(binding: Binding, group: str, worker: str = "") -> None:
    policy = policy_for(binding)
    lease_seconds = max(policy.visibility_timeout, (policy.timeout or 0) + 5)
    holder = uuid.uuid4().hex
    while _lease(binding.key, group, holder, lease_seconds):
        retry_in = _drain_leased(binding, group, holder, lease_seconds, worker)
        _release(binding.key, group, holder)
        if retry_in is not None:
            kick_groups([(binding.key, group)], countdown=retry_in)
            return
        if not FifoMessage.objects.filter(binding=binding.key, group_id=group).exists():
            return  # a message published while we released is picked up by the next loop


def _drain_leased(binding: Binding, group: str, holder: str, lease_seconds: float, worker: str) -> float | None:
    """Deliver due messages in order; returns seconds until the head is due again, or None when empty."""
    while True:
        head = FifoMessage.objects.filter(binding=binding.key, group_id=group).order_by("id").first()
        if head is None:
            return None
        now = timezone.now()
        if head.available_at and head.available_at > now:
            return (head.available_at - now).total_seconds()
        result = Delivery(binding, head.envelope, worker, fifo=True).attempt()
        if result.outcome in (Outcome.RETRY, Outcome.DEFERRED):
            head.available_at = timezone.now() + timedelta(seconds=result.delay)
            head.save(update_fields=["available_at"])
            return result.delay
        with transaction.atomic():
            if result.outcome is Outcome.DEAD and result.error is not None:
                bury(binding, head.envelope, result.error, result.attempt)
            head.delete()
        if not _lease(binding.key, group, holder, lease_seconds):
            return None
