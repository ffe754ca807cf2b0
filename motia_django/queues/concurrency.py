"""``concurrency: N``: at most N executions of a subscription at once, across all workers.

N lease rows per binding; a delivery takes a free (or expired) one and gives it
back when done.  A worker that dies holding a slot frees it when the lease runs out.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ConcurrencySlot

__all__ = ["acquire", "release"]

_prepared: set[tuple[str, int]] = set()


def _ensure_slots(binding: str, size: int) -> None:
    if (binding, size) in _prepared:
        return
    ConcurrencySlot.objects.bulk_create(
        [ConcurrencySlot(binding=binding, slot=n) for n in range(size)], ignore_conflicts=True
    )
    _prepared.add((binding, size))


def acquire(binding: str, size: int, lease_seconds: float) -> tuple[int, str] | None:
    """Take a slot; ``None`` when all ``size`` are busy."""
    _ensure_slots(binding, size)
    now = timezone.now()
    holder = uuid.uuid4().hex
    free = ConcurrencySlot.objects.filter(binding=binding, slot__lt=size).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            free = free.select_for_update(skip_locked=True)
        slot = free.order_by("slot").first()
        if slot is None:
            return None
        slot.leased_until = now + timedelta(seconds=lease_seconds)
        slot.holder = holder
        slot.save(update_fields=["leased_until", "holder"])
    return slot.slot, holder


def release(binding: str, taken: tuple[int, str]) -> None:
    slot, holder = taken
    ConcurrencySlot.objects.filter(binding=binding, slot=slot, holder=holder).update(leased_until=None, holder="")
