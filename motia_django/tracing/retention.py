"""Bounded trace storage: execution and log records (and large change payloads) older than
``MOTIA["RETENTION_DAYS"]`` go."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from ..conf import motia_settings
from ..models import ChangePayload, Execution, LogRecord

__all__ = ["purge_expired"]

_EVERY = 60.0
_last = 0.0


#: Rows deleted per statement, so one purge never holds long locks or a huge transaction.
BATCH = 1000
#: Batches per purge; the rest waits for the next one.
MAX_BATCHES = 50


def purge_expired(force: bool = False) -> int:
    """Delete expired records in batches (at most once a minute unless ``force``); returns how many."""
    global _last
    now = time.monotonic()
    if not force and now - _last < _EVERY:
        return 0
    _last = now
    cutoff = timezone.now() - timedelta(days=motia_settings().RETENTION_DAYS)
    return (_purge(Execution.objects.filter(started_at__lt=cutoff))
            + _purge(LogRecord.objects.filter(created_at__lt=cutoff))
            + _purge(ChangePayload.objects.filter(created_at__lt=cutoff)))


def _purge(expired: QuerySet[Any]) -> int:
    deleted = 0
    for _ in range(MAX_BATCHES):
        ids = list(expired.order_by().values_list("id", flat=True)[:BATCH])
        if not ids:
            break
        deleted += expired.model.objects.filter(id__in=ids).delete()[0]
    return deleted
