"""OpenTelemetry: one span per step execution, when the SDK is installed and configured."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import Client
from opentelemetry import trace  # a test requirement: never skipped
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

pytestmark = pytest.mark.django_db(transaction=True)

_exporter = InMemorySpanExporter()
_provider = TracerProvider()
_provider.add_span_processor(SimpleSpanProcessor(_exporter))
trace.set_tracer_provider(_provider)


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    _exporter.clear()
    yield _exporter


def test_an_http_execution_is_a_span(spans: InMemorySpanExporter) -> None:
    response = Client().get("/hello/otel")
    [span] = [s for s in spans.get_finished_spans() if s.name == "motia hello"]
    assert span.attributes["motia.trace_id"] == response["X-Trace-Id"]
    assert span.attributes["motia.trigger.type"] == "http"
    assert span.attributes["motia.trigger.path"] == "/hello/:name"


def test_a_failing_execution_records_its_error(spans: InMemorySpanExporter) -> None:
    Client().get("/responses/boom")
    [span] = [s for s in spans.get_finished_spans() if s.name == "motia responses"]
    assert span.status.status_code.name == "ERROR"
    assert any(event.name == "exception" for event in span.events)
