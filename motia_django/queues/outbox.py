"""Durable hand-off to the broker.

Inside a transaction, :func:`dispatch` writes one outbox row per binding in
that transaction; once it commits, the rows are sent and deleted, so a
rolled-back transaction sends nothing and a commit never loses its messages.
Outside one (autocommit) there is nothing to wait for: messages go straight to
the broker and only those it refuses are written to the outbox.  A message
due later (``delay_seconds``, a retry's backoff) waits in the outbox until it is
due and is then sent by the relay: the broker never holds a message
unacknowledged while it is not running.  Rows left in
the outbox (broker down, long delays, a publisher that died after committing)
are sent by the relay (:mod:`.relay`).  Whoever sends a row claims it first,
so a row is sent by its publisher or by the relay, never by both.  After the
broker refused a message, publishers write to the outbox without trying it for
a few seconds, so an outage costs a request milliseconds, not connection
timeouts.  FIFO messages always live in the database (see :mod:`.fifo`).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from ..conf import motia_settings
from ..models import FifoGroup, FifoMessage, OutboxMessage
from ..registry import Binding, get_registry
from .app import celery_app
from .bindings import find_binding
from .names import DELIVER_TASK, FIFO_DRAIN_TASK, deliver_shadow, fifo_drain_shadow, queue_for_binding
from .outages import persist
from .policy import hard_time_limit, policy_for

__all__ = [
    "BROKER_ERRORS", "Interceptor", "broker_health", "dispatch", "intercepted", "kick_groups", "send_outbox",
    "stalled_groups",
]

#: Receives what :func:`dispatch` would send: ``(bindings, envelope, delay)``.
Interceptor = Callable[[Sequence[Binding], dict[str, Any], "float | None"], None]
_interceptor: Interceptor | None = None


@contextmanager
def intercepted(interceptor: Interceptor) -> Iterator[None]:
    """Hand every dispatched message to ``interceptor`` instead of the broker (tests run them in-process)."""
    global _interceptor
    previous, _interceptor = _interceptor, interceptor
    try:
        yield
    finally:
        _interceptor = previous

logger = logging.getLogger("motia.queues")

RowT = TypeVar("RowT", "OutboxMessage", "Outgoing")

BROKER_ERRORS: tuple[type[BaseException], ...] = (OperationalError, ConnectionError, OSError)


def dispatch(bindings: Sequence[Binding], envelope: dict[str, Any], *, delay: float | None = None) -> None:
    """Queue ``envelope`` once for each binding, sent after the current transaction commits."""
    if _interceptor is not None:
        _interceptor(bindings, envelope, delay)
        return
    now = timezone.now()
    outgoing: list[Outgoing] = []
    fifo: list[FifoMessage] = []
    for binding in bindings:
        policy = policy_for(binding)
        wait = policy.delay_seconds if delay is None else delay
        due = now + timedelta(seconds=wait) if wait > 0 else None
        if policy.fifo:
            fifo.append(FifoMessage(binding=binding.key, group_id=envelope["messageGroupId"], envelope=envelope,
                                    available_at=due))
        else:
            outgoing.append(Outgoing(binding.key, queue_for_binding(binding), envelope, due))
    groups = {(row.binding, row.group_id) for row in fifo}
    if not transaction.get_connection().in_atomic_block:
        if fifo:
            FifoMessage.objects.bulk_create(fifo)
        sent = _send_rows([row for row in outgoing if row.eta is None])
        kept = [row.as_row() for row in outgoing if row not in sent]
        if kept:
            OutboxMessage.objects.bulk_create(kept)
        kick_groups(groups)
        return
    with transaction.atomic():
        rows = OutboxMessage.objects.bulk_create([row.as_row() for row in outgoing])
        FifoMessage.objects.bulk_create(fifo)
    transaction.on_commit(lambda: _after_commit(rows, groups), robust=True)


@dataclass(slots=True, eq=False)
class Outgoing:
    """A message on its way to the broker, not (yet) an outbox row: sent at once outside a transaction."""

    binding: str
    queue: str
    envelope: dict[str, Any]
    eta: datetime | None
    last_error: str = ""

    def as_row(self) -> OutboxMessage:
        return OutboxMessage(binding=self.binding, queue=self.queue, envelope=self.envelope, eta=self.eta,
                             last_error=self.last_error)


def _after_commit(rows: list[OutboxMessage], groups: set[tuple[str, str]]) -> None:
    due = [row.pk for row in rows if row.eta is None]
    if due:
        _send_claimed(_claim(OutboxMessage.objects.filter(id__in=due)))
    kick_groups(groups)


#: A claimed row the claimant neither sent nor released (it died) is sent by the relay after this.
CLAIM_SECONDS = 30.0


def _claim(candidates: Any, *, expired: bool = False) -> list[OutboxMessage]:
    """Claim the unclaimed rows among ``candidates``: the rows returned are this caller's alone to send.

    ``expired``: claim instead the rows whose claim ran out: their claimant may have sent them and
    died before deleting them, so their messages go out marked ``resent`` (the consumer drops a copy
    whose attempt already ended).
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    unclaimed = Q(claimed_until__lt=now) if expired else Q(claimed_until__isnull=True)
    claimed = (
        OutboxMessage.objects.filter(id__in=list(candidates.values_list("id", flat=True))).filter(unclaimed)
        .update(claim=token, claimed_until=now + timedelta(seconds=CLAIM_SECONDS))
    )
    if not claimed:
        return []
    rows = list(OutboxMessage.objects.filter(claim=token).order_by("id"))
    if expired:
        for row in rows:
            row.envelope = {**row.envelope, "resent": True}
    return rows


def _send_claimed(rows: list[OutboxMessage], *, probe: bool = False) -> int:
    """Send claimed rows, delete those the broker took and release the rest; returns how many were sent.

    A row sent but not deleted would be sent again once its claim runs out, so the
    delete rides out a database outage.
    """
    sent = _send_rows(rows, probe=probe)
    if sent:
        ids = [row.pk for row in sent]
        persist(lambda: OutboxMessage.objects.filter(id__in=ids).delete(),
                time.monotonic() + motia_settings().OUTAGE_PATIENCE, "removing sent outbox rows")
    unsent = [row for row in rows if row not in sent]
    if unsent:
        error = next((row.last_error for row in unsent if row.last_error), "")
        OutboxMessage.objects.filter(id__in=[row.pk for row in unsent]).update(
            claim="", claimed_until=None, last_error=error, send_attempts=F("send_attempts") + 1)
    return len(sent)


class _BrokerHealth:
    """Remembers a refused send for a moment, so that publishers fall back to the outbox at once.

    While the broker is down every send would wait for the transport to give up;
    instead the messages go straight to the outbox and the relay, which keeps
    trying, sends them when the broker is back.
    """

    def __init__(self, pause: float = 5.0) -> None:
        self.pause = pause
        self._down_until = 0.0

    def available(self) -> bool:
        return time.monotonic() >= self._down_until

    def refused(self) -> None:
        self._down_until = time.monotonic() + self.pause

    def accepted(self) -> None:
        self._down_until = 0.0


broker_health = _BrokerHealth()


def _send_rows(rows: Iterable[RowT], *, probe: bool = False) -> list[RowT]:
    """Send rows in order until the broker refuses one; returns those sent.

    Sends nothing while the broker is known to be down, unless ``probe`` (the relay) asks.
    """
    if not probe and not broker_health.available():
        return []
    app = celery_app()
    sent: list[RowT] = []
    for row in rows:
        binding = find_binding(row.binding)
        options: dict[str, Any] = {"queue": row.queue, "retry": False}
        if binding is not None:
            options.update(time_limit=hard_time_limit(policy_for(binding)), shadow=deliver_shadow(binding))
        try:
            app.send_task(DELIVER_TASK, args=(row.binding, row.envelope), **options)
        except BROKER_ERRORS as exc:
            broker_health.refused()
            logger.warning("broker unavailable; message %s kept in the outbox: %s", row.envelope.get("id"), exc)
            row.last_error = str(exc)[:2000]
            break
        sent.append(row)
    if sent:
        broker_health.accepted()
    return sent


def send_outbox(limit: int = 500) -> int:
    """Send the due outbox rows nobody holds (broker was down, delayed messages, a publisher died); returns how many."""
    now = timezone.now()
    due = OutboxMessage.objects.filter(Q(eta__isnull=True) | Q(eta__lte=now))
    sent = _send_claimed(_claim(due.filter(claimed_until__isnull=True).order_by("id")[:limit]), probe=True)
    return sent + _send_claimed(_claim(due.filter(claimed_until__lt=now).order_by("id")[:limit], expired=True),
                                probe=True)


def kick_groups(groups: Iterable[tuple[str, str]]) -> None:
    """Ask a worker to drain each FIFO group now (harmless if one already is).

    A group whose head is due later is not kicked: the relay restarts it when the
    head is due (see :func:`stalled_groups`).
    """
    if not broker_health.available():
        return  # the relay restarts the groups once the broker is back
    app = celery_app()
    registry = get_registry()
    for binding_key, group_id in groups:
        binding = registry.binding(binding_key)
        if binding is None:
            continue
        try:
            app.send_task(FIFO_DRAIN_TASK, args=(binding_key, group_id), queue=queue_for_binding(binding),
                          shadow=fifo_drain_shadow(binding), retry=False)
        except BROKER_ERRORS as exc:
            broker_health.refused()
            logger.warning("broker unavailable; FIFO group %s/%s waits for the relay: %s", binding_key, group_id, exc)
            return


def stalled_groups(limit: int = 200) -> set[tuple[str, str]]:
    """FIFO groups with a due message and no live lease (each group once, however many messages it holds)."""
    now = timezone.now()
    leased = FifoGroup.objects.filter(binding=OuterRef("binding"), group_id=OuterRef("group_id"),
                                      leased_until__gt=now)
    due = FifoMessage.objects.filter(Q(available_at__isnull=True) | Q(available_at__lte=now)).filter(~Exists(leased))
    # order_by() drops the model's ordering by id, which DISTINCT would otherwise count in
    return set(due.order_by().values_list("binding", "group_id").distinct()[:limit])
