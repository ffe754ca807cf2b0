"""Connects the receivers and installs a tracer provider exporting to the observer file."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import Any

from celery.signals import task_failure, task_retry
from django.apps import AppConfig
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from motia_django.signals import dead_letter_replayed, dead_lettered, execution_finished, execution_started


def write(record: dict[str, Any]) -> None:
    """One line per record, appended whole (``O_APPEND``), so the processes of a test share the file."""
    line = (json.dumps({**record, "pid": os.getpid()}, default=repr) + "\n").encode()
    fd = os.open(os.environ["MOTIA_TEST_OBSERVER"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def on_execution(signal: Any, sender: Any, **fields: Any) -> None:
    from motia_django.models import Execution

    name = "execution_started" if signal is execution_started else "execution_finished"
    write({"signal": name, "sender": getattr(sender, "name", None), "step": fields["step"],
           "trigger": fields["trigger"], "trace_id": fields["trace_id"], "input": fields["input"],
           "outcome": fields.get("outcome"), "duration": fields.get("duration"),
           "error": repr(fields["error"]) if fields.get("error") is not None else None,
           # an ORM call: receivers of async executions run where the ORM may be used
           "executions": Execution.objects.count() if signal is execution_finished else None})


def on_dead_letter(sender: Any, dead_letter: Any, error: BaseException, **fields: Any) -> None:
    write({"signal": "dead_lettered", "step": dead_letter.step, "message_id": dead_letter.message_id,
           "error": repr(error)})


def on_replay(sender: Any, dead_letter: Any, envelope: dict[str, Any], **fields: Any) -> None:
    write({"signal": "dead_letter_replayed", "step": dead_letter.step, "message_id": envelope["id"],
           "replay_of": envelope["replayOf"]})


def on_task_failure(sender: Any, exception: BaseException, **fields: Any) -> None:
    write({"signal": "task_failure", "task": sender.name, "shadow": sender.request.shadow,
           "exception": repr(exception)})


def on_task_retry(sender: Any, request: Any, reason: Any, **fields: Any) -> None:
    write({"signal": "task_retry", "task": sender.name, "shadow": request.shadow, "exception": repr(reason.exc),
           "when": reason.when})


class FileSpanExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            context, parent = span.context, span.parent
            assert context is not None
            write({"signal": "span", "name": span.name, "trace_id": f"{context.trace_id:032x}",
                   "span_id": f"{context.span_id:016x}",
                   "parent_span_id": f"{parent.span_id:016x}" if parent is not None else None,
                   "links": [f"{link.context.span_id:016x}" for link in span.links]})
        return SpanExportResult.SUCCESS


class ObserverConfig(AppConfig):
    name = "tests.observer"

    def ready(self) -> None:
        execution_started.connect(on_execution, weak=False)
        execution_finished.connect(on_execution, weak=False)
        dead_lettered.connect(on_dead_letter, weak=False)
        dead_letter_replayed.connect(on_replay, weak=False)
        task_failure.connect(on_task_failure, weak=False)
        task_retry.connect(on_task_retry, weak=False)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(FileSpanExporter()))
        trace.set_tracer_provider(provider)
