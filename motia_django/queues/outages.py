"""Riding out a database outage inside a delivery, so that the message is not lost to it.

A delivery's own writes (the attempt number, its record, a retry, a dead
letter, a concurrency slot) are retried with backoff while the database refuses
connections, up to a deadline; past it the error propagates and the task hands
the message back to the broker.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import InterfaceError, OperationalError, connections

__all__ = ["DATABASE_OUTAGES", "persist"]

logger = logging.getLogger("motia.queues")

T = TypeVar("T")

#: What a database that lost or refused the connection raises (not constraint or programming errors).
DATABASE_OUTAGES: tuple[type[Exception], ...] = (OperationalError, InterfaceError)


def persist(operation: Callable[[], T], deadline: float, what: str) -> T:
    """Run ``operation`` (a database write of its own), again after a database outage, until ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value.  Broken connections are closed
    between tries, so the next one reconnects.
    """
    pause = 0.25
    while True:
        try:
            return operation()
        except DATABASE_OUTAGES as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning("database unavailable while %s; trying again in %.2gs: %s", what, pause, exc)
            connections.close_all()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)
