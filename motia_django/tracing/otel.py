"""OpenTelemetry spans per step execution, when the ``opentelemetry`` API is installed.

Without it (or with no tracer provider configured) spans cost nothing: the API
hands out no-op spans.  A message carries the context of the span that enqueued
it (``traceContext``: W3C ``traceparent``, through the configured propagator),
so the consumer's span continues the producer's trace, whichever process sends
the message to the broker later; the span of Celery's own instrumentation, if
any, is linked.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import FlowContext

__all__ = ["continued_trace", "execution_span", "trace_context"]

try:
    from opentelemetry import context as _context
    from opentelemetry import propagate as _propagate
    from opentelemetry import trace as _trace
except ImportError:  # optional dependency
    _trace = None  # type: ignore[assignment]

#: The span that was current where a message was consumed, linked from the step's span.
_consumed_under: ContextVar[Any] = ContextVar("motia_consumed_under", default=None)


@contextmanager
def _span(ctx: FlowContext[Any]) -> Iterator[None]:
    assert _trace is not None
    tracer = _trace.get_tracer("motia_django")
    trigger = ctx.trigger
    step = ctx.step_name or "unnamed"
    attributes = {
        "motia.step": step,
        "motia.trace_id": ctx.trace_id,
        "motia.trigger.type": str(trigger.type),
        **{f"motia.trigger.{key}": value for key, value in
           (("path", trigger.path), ("method", trigger.method), ("topic", trigger.topic),
            ("expression", trigger.expression)) if value},
    }
    local = _consumed_under.get()
    links = [_trace.Link(local.get_span_context())] if local is not None else None
    with tracer.start_as_current_span(f"motia {step}", attributes=attributes, links=links):
        yield


def _configured() -> bool:
    """Whether the application installed a tracer provider (else every span would be a no-op).

    Asking the API for its provider reads the environment each time, so the
    provider the application set (``set_tracer_provider``) is looked at first.
    """
    if _trace is None:
        return False
    provider = getattr(_trace, "_TRACER_PROVIDER", None)
    if provider is None:
        if not _PROVIDER_FROM_ENVIRONMENT:
            return False
        provider = _trace.get_tracer_provider()
    return not isinstance(provider, _trace.ProxyTracerProvider)


def execution_span(ctx: FlowContext[Any]) -> Any:
    """A span around one handler run (records its exception and status on failure).

    Until the application installs a tracer provider, the API's placeholder
    would only hand out no-op spans: skip it.
    """
    return _span(ctx) if _configured() else _NO_SPAN


def trace_context() -> dict[str, str]:
    """The current span's context as propagation headers (``traceparent``...), for an envelope; empty without one."""
    if not _configured():
        return {}
    carrier: dict[str, str] = {}
    _propagate.inject(carrier)
    return carrier


@contextmanager
def continued_trace(carrier: dict[str, str] | None) -> Iterator[None]:
    """Make the producer's span (from an envelope's ``traceContext``) the parent of the spans started inside."""
    if not carrier or not _configured():
        yield
        return
    local = _trace.get_current_span()
    token = _context.attach(_propagate.extract(carrier))
    linked = _consumed_under.set(local if local.get_span_context().is_valid else None)
    try:
        yield
    finally:
        _consumed_under.reset(linked)
        _context.detach(token)


_NO_SPAN = nullcontext()
#: OpenTelemetry can also build the provider from this variable, on first use.
_PROVIDER_FROM_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
