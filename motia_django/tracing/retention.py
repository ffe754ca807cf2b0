"""Bounded trace storage: execution and log records older than ``MOTIA["RETENTION_DAYS"]`` go."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from ..conf import motia_settings
from ..models import Execution, LogRecord

__all__ = ["purge_expired"]

_EVERY = 60.0
_last = 0.0


def purge_expired(force: bool = False) -> int:
    """Delete expired records (at most once a minute unless ``force``); returns how many."""
    global _last
    now = time.monotonic()
    if not force and now - _last < _EVERY:
        return 0
    _last = now
    cutoff = timezone.now() - timedelta(days=motia_settings().RETENTION_DAYS)
    executions, _ = Execution.objects.filter(started_at__lt=cutoff).delete()
    logs, _ = LogRecord.objects.filter(created_at__lt=cutoff).delete()
    return executions + logs
