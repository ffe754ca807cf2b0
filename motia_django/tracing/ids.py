"""Trace ids: one per request or tick, carried across every hop."""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Mapping

__all__ = ["new_message_id", "new_trace_id", "trace_id_from_headers"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


class _RandomBytes(threading.local):
    """Randomness from the OS, read 4 KiB at a time: a system call per id would let the other
    threads of a busy server take the interpreter at every request."""

    def __init__(self) -> None:
        self.pool = b""
        self.generation = -1

    def take(self, count: int) -> bytes:
        if len(self.pool) < count or self.generation != _forks:
            self.pool, self.generation = os.urandom(4096), _forks
        taken, self.pool = self.pool[:count], self.pool[count:]
        return taken


_forks = 0


def _forked() -> None:
    global _forks
    _forks += 1  # a child must not hand out the bytes its parent has too


os.register_at_fork(after_in_child=_forked)
_random = _RandomBytes()


def new_trace_id() -> str:
    """A time-ordered (version 7) UUID string: the milliseconds since 1970, then 74 random bits.

    Ids made one after another sort one after another, so the index on
    execution records grows at its end instead of at random places; this runs on
    every request, so it is built directly rather than through ``uuid.UUID``.
    """
    ms = f"{time.time_ns() // 1_000_000:012x}"
    r = _random.take(10).hex()  # 80 random bits: 12 + 2 (variant) + 62 of them are used
    return f"{ms[:8]}-{ms[8:]}-7{r[:3]}-{_VARIANT[int(r[3], 16) & 3]}{r[4:7]}-{r[7:19]}"


_VARIANT = "89ab"


def new_message_id() -> str:
    """A random (version 4) UUID string for a message, from the same pooled randomness."""
    r = _random.take(16).hex()
    return f"{r[:8]}-{r[8:12]}-4{r[13:16]}-{_VARIANT[int(r[16], 16) & 3]}{r[17:20]}-{r[20:32]}"


def trace_id_from_headers(meta: Mapping[str, str], trust_trace_header: bool = False) -> str:
    """Take the trace id of a valid W3C ``traceparent``, else a new one.

    ``X-Trace-Id`` names any id, an existing trace's too, so a client could write
    its records into someone else's trace: it is taken only when
    ``trust_trace_header`` says a gateway in front sets it (``MOTIA["TRUST_TRACE_HEADER"]``).
    ``meta`` is a WSGI/ASGI environ such as Django's ``request.META``.
    """
    parent = meta.get("HTTP_TRACEPARENT")
    if parent:
        match = _TRACEPARENT.match(parent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    given = meta.get("HTTP_X_TRACE_ID") if trust_trace_header else None
    if given and _SAFE_ID.match(given.strip()):
        return given.strip()
    return new_trace_id()
