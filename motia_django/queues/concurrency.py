"""``concurrency: N``: at most N executions of a subscription at once, across all workers.

N lease rows per binding; a delivery takes a free (or expired) one and gives it
back when done.  A message that finds every slot busy waits in a
:class:`~motia_django.models.WaitingMessage` row and costs nothing while it
waits: whoever frees a slot hands it to the oldest waiting message (reserving the
slot for it) and sends that message again, so waiting messages run in the order
they were published.  A worker that dies holding a slot frees it when the lease runs
out, and the relay then wakes the next waiting message.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import ConcurrencySlot, WaitingMessage
from ..registry import Binding, get_registry
from .outbox import dispatch
from .policy import policy_for

__all__ = ["Slot", "acquire", "park", "release", "waiting_bindings", "wake"]

#: ``(slot number, holder token)`` of a slot taken by :func:`acquire`.
Slot = tuple[int, str]

_prepared: set[tuple[str, int]] = set()


def _ensure_slots(binding: str, size: int) -> None:
    if (binding, size) in _prepared:
        return
    ConcurrencySlot.objects.bulk_create(
        [ConcurrencySlot(binding=binding, slot=n) for n in range(size)], ignore_conflicts=True
    )
    _prepared.add((binding, size))


def _reservation(message_id: str) -> str:
    """The holder of a slot kept for a woken message until it arrives."""
    return f"for:{message_id}"


def _locked(queryset: Any) -> Any:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def _free(binding: str, size: int) -> Any:
    now = timezone.now()
    return ConcurrencySlot.objects.filter(binding=binding, slot__lt=size).filter(
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )


def _size_and_lease(binding: Binding) -> tuple[int, float]:
    policy = policy_for(binding)
    return policy.concurrency or 1, policy.lease_seconds


def acquire(binding: Binding, message_id: str) -> Slot | None:
    """Take a slot for ``message_id``; ``None`` when it has to wait.

    A slot reserved for this message is taken first.  Otherwise a message waits
    behind those already waiting, so a newcomer never overtakes them.
    """
    size, lease_seconds = _size_and_lease(binding)
    _ensure_slots(binding.key, size)
    holder = uuid.uuid4().hex
    until = timezone.now() + timedelta(seconds=lease_seconds)
    with transaction.atomic():
        reserved = ConcurrencySlot.objects.filter(binding=binding.key, holder=_reservation(message_id))
        slot = _locked(reserved).first()
        if slot is None:
            if WaitingMessage.objects.filter(binding=binding.key).exists():
                return None
            slot = _locked(_free(binding.key, size)).order_by("slot").first()
            if slot is None:
                return None
        slot.leased_until, slot.holder = until, holder
        slot.save(update_fields=["leased_until", "holder"])
    return slot.slot, holder


def park(binding: Binding, envelope: dict[str, Any]) -> None:
    """Keep a message that found no free slot until one frees up.

    The slot may have been freed between :func:`acquire` and this call, by a
    releaser that saw no waiting message yet; waking after parking covers that.
    """
    try:
        WaitingMessage.objects.create(binding=binding.key, message_id=envelope["id"], envelope=envelope,
                                      enqueued_at=float(envelope.get("enqueuedAt") or time.time()))
    except IntegrityError:
        pass  # already waiting: the broker handed this message out twice
    wake(binding)


def _hand_over(slot: ConcurrencySlot, binding: Binding, lease_seconds: float) -> bool:
    """Give ``slot`` to the oldest waiting message and send it; ``False`` when none waits.

    Runs inside the caller's transaction: the reservation, the removal of the
    waiting row and the outbox row of the message commit together.
    """
    waiting = _locked(WaitingMessage.objects.filter(binding=binding.key)).order_by("enqueued_at", "id").first()
    if waiting is None:
        return False
    slot.holder = _reservation(waiting.message_id)
    slot.leased_until = timezone.now() + timedelta(seconds=lease_seconds)
    slot.save(update_fields=["holder", "leased_until"])
    waiting.delete()
    dispatch([binding], waiting.envelope, delay=0)
    return True


def release(binding: Binding, taken: Slot) -> None:
    """Give the slot back, or straight to the oldest waiting message."""
    number, holder = taken
    _, lease_seconds = _size_and_lease(binding)
    with transaction.atomic():
        slot = _locked(ConcurrencySlot.objects.filter(binding=binding.key, slot=number, holder=holder)).first()
        if slot is None:
            return  # the lease ran out and someone else holds the slot now
        if not _hand_over(slot, binding, lease_seconds):
            slot.leased_until, slot.holder = None, ""
            slot.save(update_fields=["leased_until", "holder"])


def wake(binding: Binding) -> int:
    """Hand every free slot of ``binding`` to a waiting message; returns how many were woken."""
    size, lease_seconds = _size_and_lease(binding)
    _ensure_slots(binding.key, size)
    woken = 0
    while True:
        with transaction.atomic():
            slot = _locked(_free(binding.key, size)).order_by("slot").first()
            if slot is None or not _hand_over(slot, binding, lease_seconds):
                return woken
        woken += 1


def waiting_bindings() -> list[Binding]:
    """Bindings of this process's steps with messages waiting for a slot (the relay wakes them)."""
    registry = get_registry()
    found: dict[str, Binding] = {}
    for key in WaitingMessage.objects.order_by().values_list("binding", flat=True).distinct():
        binding = registry.binding(key)
        if binding is None:
            continue  # another release's step: its workers wake it
        if binding.key != key:  # written by an earlier release under its positional key
            WaitingMessage.objects.filter(binding=key).update(binding=binding.key)
        found[binding.key] = binding
    return list(found.values())
