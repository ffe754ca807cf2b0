"""OpenTelemetry spans per step execution, when the ``opentelemetry`` API is installed.

Without it (or with no tracer provider configured) spans cost nothing: the API
hands out no-op spans.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..context import FlowContext

__all__ = ["execution_span"]

try:
    from opentelemetry import trace as _trace
except ImportError:  # optional dependency
    _trace = None  # type: ignore[assignment]


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
    with tracer.start_as_current_span(f"motia {step}", attributes=attributes):
        yield


def execution_span(ctx: FlowContext[Any]) -> Any:
    """A span around one handler run (records its exception and status on failure).

    Until the application installs a tracer provider, the API's placeholder
    would only hand out no-op spans: skip it.  Asking the API for its provider
    reads the environment each time, so the provider the application set
    (``set_tracer_provider``) is looked at first.
    """
    if _trace is None:
        return _NO_SPAN
    provider = getattr(_trace, "_TRACER_PROVIDER", None)
    if provider is None:
        if not _PROVIDER_FROM_ENVIRONMENT:
            return _NO_SPAN
        provider = _trace.get_tracer_provider()
    if isinstance(provider, _trace.ProxyTracerProvider):
        return _NO_SPAN
    return _span(ctx)


_NO_SPAN = nullcontext()
#: OpenTelemetry can also build the provider from this variable, on first use.
_PROVIDER_FROM_ENVIRONMENT = "OTEL_PYTHON_TRACER_PROVIDER" in os.environ
