"""Tracing: trace ids carried across hops, and the record of every execution."""

from __future__ import annotations

from .ids import new_trace_id, trace_id_from_headers

__all__ = ["new_trace_id", "trace_id_from_headers"]
