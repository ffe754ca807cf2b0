"""Change payloads too large for a message travel by reference.

A state or stream trigger carries the old and the new value.  When that is
more than ``MAX_MESSAGE_BYTES``, the change is stored as a
:class:`~motia_django.models.ChangePayload` row in the writer's transaction
and the message carries its id; the delivery reads it back.  Rows go with the
execution records, after ``RETENTION_DAYS``.
"""

from __future__ import annotations

from typing import Any

from ..models import ChangePayload

__all__ = ["REFERENCE", "resolve", "store"]

#: The key of a message's data that names a stored payload.
REFERENCE = "$payload"


def store(data: dict[str, Any]) -> dict[str, Any]:
    """Keep ``data`` in the database; returns the message data that refers to it."""
    return {REFERENCE: ChangePayload.objects.create(data=data).pk}


def resolve(data: Any) -> Any:
    """The change itself, for message data that may refer to a stored one."""
    if isinstance(data, dict) and REFERENCE in data and len(data) == 1:
        return ChangePayload.objects.get(pk=data[REFERENCE]).data
    return data
