"""The relay: sends what publishers left in the outbox, restarts stalled FIFO groups,
wakes messages waiting for a concurrency slot and deletes expired records.

Every worker runs a :class:`Relay` thread in its main process, away from the
consumer, so a slow database never holds up fetching, acknowledgements or
heartbeats.  Only the holder of the ``relay`` :class:`~motia_django.models.Lease`
sweeps; the others take over when it stops renewing.

The main process forks the pool's processes while the relay runs.  SQLite lives
inside the process: a child forked while the relay is inside the library
inherits its locks held and hangs on its first query.  On SQLite a sweep
therefore holds :data:`fork_guard`, which forks wait for, and closes its
connection before letting go.  Client-server databases need no such care.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from contextlib import AbstractContextManager, nullcontext
from datetime import timedelta

from django.db import close_old_connections, connections
from django.db.models import Q
from django.utils import timezone

from ..conf import motia_settings
from ..models import Lease
from ..tracing.retention import purge_expired
from . import concurrency
from .outbox import kick_groups, send_outbox, stalled_groups

__all__ = ["Relay", "fork_guard", "hold_lease", "sweep"]

logger = logging.getLogger("motia.queues")

_LEASE = "relay"


#: Held by a sweep on SQLite; ``os.fork()`` waits for it (see the module docstring).
fork_guard = threading.Lock()
os.register_at_fork(before=fork_guard.acquire, after_in_parent=fork_guard.release,
                    after_in_child=fork_guard.release)


def _in_process_database() -> bool:
    return any(connections[alias].vendor == "sqlite" for alias in connections)


#: Outbox rows sent per batch, and batches per sweep (a backlog drains at up to this many a sweep).
BATCH, MAX_BATCHES = 500, 20


def sweep() -> None:
    """One pass of every relay job."""
    sent = 0
    for _ in range(MAX_BATCHES):
        batch = send_outbox(BATCH)
        sent += batch
        if batch < BATCH:
            break
    if sent:
        logger.info("relayed %d message(s) from the outbox", sent)
    kick_groups(stalled_groups())
    for binding in concurrency.waiting_bindings():
        concurrency.wake(binding)
    purge_expired()


def hold_lease(holder: str, seconds: float) -> bool:
    """Take or renew the relay lease for ``holder``; ``False`` while another process holds it."""
    now = timezone.now()
    Lease.objects.bulk_create([Lease(name=_LEASE)], ignore_conflicts=True)
    return bool(
        Lease.objects.filter(name=_LEASE)
        .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now) | Q(holder=holder))
        .update(holder=holder, leased_until=now + timedelta(seconds=seconds))
    )


def _release_lease(holder: str) -> None:
    Lease.objects.filter(name=_LEASE, holder=holder).update(holder="", leased_until=None)


class Relay(threading.Thread):
    """Sweeps every ``RELAY_INTERVAL`` seconds while it holds the relay lease."""

    def __init__(self) -> None:
        super().__init__(name="motia-relay", daemon=True)
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.interval = motia_settings().RELAY_INTERVAL
        self._stopping = threading.Event()
        self._in_process_database = _in_process_database()

    def _turn(self) -> AbstractContextManager[object]:
        return fork_guard if self._in_process_database else nullcontext()

    def run(self) -> None:
        # a lease outlives a few missed renewals, so a busy holder keeps it
        lease_seconds = max(5.0, self.interval * 5)
        while not self._stopping.wait(self.interval):
            with self._turn():
                close_old_connections()  # CONN_MAX_AGE, and connections a database restart broke
                try:
                    if hold_lease(self.holder, lease_seconds):
                        sweep()
                except Exception:
                    logger.exception("relay sweep failed")
                    connections.close_all()
                if self._in_process_database:
                    connections.close_all()
        with self._turn():
            try:
                _release_lease(self.holder)
            except Exception:
                logger.warning("could not release the relay lease; it runs out in %.0fs", lease_seconds)
            finally:
                connections.close_all()

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stopping.set()
        if self.is_alive():
            self.join(timeout)
