"""Trace ids: one per request or tick, carried across every hop."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

__all__ = ["new_trace_id", "trace_id_from_headers"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def new_trace_id() -> str:
    return str(uuid.uuid4())


def trace_id_from_headers(meta: Mapping[str, str]) -> str:
    """Take the trace id of a W3C ``traceparent`` or an ``X-Trace-Id`` header, else a new one.

    ``meta`` is a WSGI/ASGI environ such as Django's ``request.META``.
    """
    parent = meta.get("HTTP_TRACEPARENT")
    if parent:
        match = _TRACEPARENT.match(parent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    given = meta.get("HTTP_X_TRACE_ID")
    if given and _SAFE_ID.match(given.strip()):
        return given.strip()
    return new_trace_id()
