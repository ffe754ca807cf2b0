"""Durable hand-off to the broker.

Inside a transaction, :func:`dispatch` writes one outbox row per binding in
that transaction; once it commits, the rows are sent and deleted, so a
rolled-back transaction sends nothing and a commit never loses its messages.
Outside one (autocommit) there is nothing to wait for: messages go straight to
the broker and only those it refuses are written to the outbox.  Rows left in
the outbox (broker down, long delays, a publisher that died after committing)
are sent by the worker's relay sweep.  FIFO messages always live in the
database (see :mod:`.fifo`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from kombu.exceptions import OperationalError

from ..conf import motia_settings
from ..models import FifoGroup, FifoMessage, OutboxMessage
from ..registry import Binding, get_registry
from .app import celery_app
from .names import DELIVER_TASK, FIFO_DRAIN_TASK, queue_for_binding
from .policy import policy_for

__all__ = ["Interceptor", "dispatch", "intercepted", "kick_groups", "send_outbox", "sweep"]

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
#: Rows younger than this (or than half the send horizon) belong to the publisher that
#: wrote them; the sweep leaves them alone.
RELAY_GRACE = timedelta(seconds=5)


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
        horizon = now + _send_horizon()
        ready = [row for row in outgoing if row.eta is None or row.eta <= horizon]
        sent = _send_rows(ready)
        kept = [row.as_row() for row in outgoing if row not in sent]
        if kept:
            OutboxMessage.objects.bulk_create(kept)
        kick_groups(groups)
        return
    with transaction.atomic():
        rows = OutboxMessage.objects.bulk_create([row.as_row() for row in outgoing])
        FifoMessage.objects.bulk_create(fifo)
    transaction.on_commit(lambda: _after_commit(rows, groups))


@dataclass(slots=True, eq=False)
class Outgoing:
    """A message on its way to the broker, not (yet) an outbox row: sent at once outside a transaction."""

    binding: str
    queue: str
    envelope: dict[str, Any]
    eta: datetime | None
    pk: int | None = None
    last_error: str = ""

    def as_row(self) -> OutboxMessage:
        return OutboxMessage(binding=self.binding, queue=self.queue, envelope=self.envelope, eta=self.eta,
                             last_error=self.last_error)


def _send_horizon() -> timedelta:
    """Messages due later than this wait in the outbox, not in the broker.

    A broker such as Redis redelivers a message held unacknowledged for longer
    than its visibility timeout, so long delays are kept here and sent when due.
    """
    return timedelta(seconds=motia_settings().VISIBILITY_TIMEOUT / 2)


def _after_commit(rows: list[OutboxMessage], groups: set[tuple[str, str]]) -> None:
    horizon = timezone.now() + _send_horizon()
    sent = _send_rows(row for row in rows if row.eta is None or row.eta <= horizon)
    if sent:
        OutboxMessage.objects.filter(id__in=[row.id for row in sent]).delete()
    kick_groups(groups)


def _send_rows(rows: Iterable[RowT]) -> list[RowT]:
    """Send rows in order until the broker refuses one; returns those sent."""
    app = celery_app()
    registry = get_registry()
    sent: list[RowT] = []
    for row in rows:
        binding = registry.binding(row.binding)
        options: dict[str, Any] = {"queue": row.queue, "eta": row.eta, "retry": False}
        if binding is not None:
            timeout = policy_for(binding).timeout
            if timeout:
                # the handler's own timeout fires first; these stop a handler that blocks the process
                options.update(soft_time_limit=timeout + 2, time_limit=timeout + 10)
        try:
            app.send_task(DELIVER_TASK, args=(row.binding, row.envelope), **options)
        except BROKER_ERRORS as exc:
            logger.warning("broker unavailable; message %s kept in the outbox: %s", row.envelope.get("id"), exc)
            row.last_error = str(exc)[:2000]
            if row.pk is not None:
                OutboxMessage.objects.filter(id=row.pk).update(last_error=row.last_error)
            break
        sent.append(row)
    return sent


def _lock(queryset: Any) -> Any:
    if connection.features.has_select_for_update_skip_locked:
        return queryset.select_for_update(skip_locked=True)
    return queryset


def send_outbox(limit: int = 500) -> int:
    """Send outbox rows their publisher could not (broker down, process died); returns how many."""
    now, horizon = timezone.now(), _send_horizon()
    grace = min(RELAY_GRACE, horizon / 2)
    stale = (
        OutboxMessage.objects.filter(Q(eta__isnull=True) | Q(eta__lte=now + horizon))
        .filter(created_at__lt=now - grace)
        .order_by("id")
    )
    with transaction.atomic():
        rows = list(_lock(stale)[:limit])
        sent = _send_rows(rows)
        OutboxMessage.objects.filter(id__in=[row.id for row in sent]).delete()
    return len(sent)


def kick_groups(groups: Iterable[tuple[str, str]], *, countdown: float | None = None) -> None:
    """Ask a worker to drain each FIFO group (harmless if one already is)."""
    app = celery_app()
    registry = get_registry()
    for binding_key, group_id in groups:
        binding = registry.binding(binding_key)
        if binding is None:
            continue
        try:
            options: dict[str, Any] = {"queue": queue_for_binding(binding), "retry": False}
            if countdown is not None:
                options["countdown"] = countdown
            app.send_task(FIFO_DRAIN_TASK, args=(binding_key, group_id), **options)
        except BROKER_ERRORS as exc:
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


def sweep() -> None:
    """The worker's periodic relay: resend the outbox, restart stalled FIFO groups."""
    try:
        sent = send_outbox()
        if sent:
            logger.info("relayed %d message(s) from the outbox", sent)
        kick_groups(stalled_groups())
    except Exception:
        logger.exception("outbox relay failed")
