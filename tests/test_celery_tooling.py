"""Celery tooling sees steps: events, ``inspect active``, signals, per-step routes, and traces across ``enqueue``.

Workers run with ``-E`` and the ``tests.observer`` app, which appends what Celery's
and the runtime's signals (and finished spans) told it to a file; events are
captured from the real broker with ``app.events.Receiver``.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django.test import Client
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from motia_django.models import DeadLetter, Execution, OutboxMessage
from motia_django.signals import dead_letter_replayed, execution_finished, execution_started
from motia_django.steps.io import MotiaHttpArgs

from .conftest import Process, child_env, start_uvicorn, wait_until

Worker = Callable[..., Process]


def post_job(**job: Any) -> str:
    response = Client().post("/sig/jobs", json.dumps(job), content_type="application/json")
    assert response.status_code == 202, response.content
    return str(response.json()["traceId"])


def observed(path: Path, signal: str, **match: Any) -> list[dict[str, Any]]:
    """The records of ``signal`` the observer wrote, with the fields in ``match``."""
    if not path.exists():
        return []
    records = [json.loads(line) for line in path.read_text().splitlines()]
    return [r for r in records if r["signal"] == signal and all(r.get(k) == v for k, v in match.items())]


@pytest.fixture
def observer(tmp_path: Path) -> Path:
    return tmp_path / "observer.jsonl"


class Events:
    """Celery events of the test's broker, captured on a thread while the test runs."""

    def __init__(self) -> None:
        from project.celery import app

        self.seen: list[dict[str, Any]] = []
        self.connection = app.connection_for_read()
        self.receiver = app.events.Receiver(self.connection, handlers={"*": self.seen.append})
        self.thread = threading.Thread(target=self.receiver.capture, kwargs={"limit": None}, daemon=True)

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in list(self.seen) if event["type"] == kind]

    def names(self) -> dict[str, str]:
        """Task id → the name its ``task-received`` event gave."""
        return {event["uuid"]: event["name"] for event in self.of("task-received")}


@pytest.fixture
def events(broker_url: str) -> Iterator[Events]:
    captured = Events()
    captured.thread.start()
    yield captured
    captured.receiver.should_stop = True
    captured.thread.join(10)
    captured.connection.release()


@pytest.mark.slow
@pytest.mark.services
def test_events_and_celery_signals_name_the_step_and_see_retries_and_failures(
    start_worker: Worker, events: Events, observer: Path
) -> None:
    start_worker(options=["-E"], MOTIA_TEST_OBSERVER=str(observer))
    wait_until(lambda: any(e["type"].startswith("worker-") for e in events.seen), 15, what="the worker's events")
    failing = post_job(topic="sig.jobs", id="f1", fail=True)
    post_job(topic="sig.jobs", id="ok1")
    wait_until(lambda: DeadLetter.objects.filter(step="SigJob").exists(), 30, what="the dead letter")
    wait_until(lambda: len(events.of("task-failed")) == 1 and len(events.of("task-succeeded")) == 1, 15,
               what=lambda: f"task events: {[e['type'] for e in events.seen]}")

    names = events.names()
    assert set(names.values()) == {"SigJob"}, names
    [retried] = events.of("task-retried")
    [failed] = events.of("task-failed")
    assert "planned failure of f1" in retried["exception"] and "planned failure of f1" in failed["exception"]
    assert names[retried["uuid"]] == names[failed["uuid"]] == "SigJob"
    assert retried["uuid"] != failed["uuid"]  # the retry is a new message, sent by the outbox

    # Celery's signals saw the same, in the worker's pool process
    [retry_signal] = observed(observer, "task_retry")
    assert (retry_signal["task"], retry_signal["shadow"]) == ("motia.deliver", "SigJob")
    assert "planned failure of f1" in retry_signal["exception"] and retry_signal["when"] == pytest.approx(0.2)
    [failure_signal] = observed(observer, "task_failure")
    assert (failure_signal["task"], failure_signal["shadow"]) == ("motia.deliver", "SigJob")

    # the runtime's signals, from the worker
    finished = observed(observer, "execution_finished", step="SigJob", trace_id=failing)
    assert [(r["trigger"], r["outcome"]) for r in finished] == [("queue", "failed"), ("queue", "failed")]
    assert all("planned failure of f1" in r["error"] and r["duration"] >= 0 for r in finished)
    assert len(observed(observer, "execution_started", step="SigJob", trace_id=failing)) == 2
    assert [r["outcome"] for r in observed(observer, "execution_finished", step="SigJob", input={"id": "ok1"})] \
        == ["succeeded"]
    letter = DeadLetter.objects.get(step="SigJob")
    [buried] = observed(observer, "dead_lettered", step="SigJob")
    assert buried["message_id"] == letter.message_id and "planned failure of f1" in buried["error"]

    # the delivery is as before: two attempts, then the dead letter; no copy left anywhere
    assert letter.attempts == 2
    assert sorted(Execution.objects.filter(step="SigJob", trace_id=failing).values_list("attempt", "status")) == [
        (1, "failed"), (2, "dead")]
    assert not OutboxMessage.objects.exists()

    # a replay is announced by the process that replays it, and the worker buries the message again
    replays: list[dict[str, Any]] = []

    def on_replay(sender: Any, **fields: Any) -> None:
        replays.append(fields)

    dead_letter_replayed.connect(on_replay)
    try:
        call_command("motia_dlq", "replay", str(letter.pk), stdout=io.StringIO())
    finally:
        dead_letter_replayed.disconnect(on_replay)
    [replay] = replays
    assert replay["dead_letter"].message_id == letter.message_id
    assert replay["envelope"]["replayOf"] == letter.message_id
    wait_until(lambda: observed(observer, "dead_lettered", message_id=replay["envelope"]["id"]), 30,
               what="the replayed message's dead letter")


@pytest.mark.slow
@pytest.mark.services
def test_an_async_handler_announces_its_execution_and_receivers_may_use_the_orm(
    start_worker: Worker, observer: Path
) -> None:
    start_worker(MOTIA_TEST_OBSERVER=str(observer))
    trace_id = post_job(topic="sig.async-jobs", id="a1")
    wait_until(lambda: observed(observer, "execution_finished", step="SigAsyncJob"), 30, what="the async job")
    [started] = observed(observer, "execution_started", step="SigAsyncJob")
    [finished] = observed(observer, "execution_finished", step="SigAsyncJob")
    assert (started["trace_id"], started["input"], started["sender"]) == (trace_id, {"id": "a1"}, "SigAsyncJob")
    assert finished["outcome"] == "succeeded" and finished["error"] is None
    assert finished["executions"] >= 0  # the receiver read the database from the async handler's execution


@pytest.mark.slow
@pytest.mark.services
def test_inspect_active_shows_the_running_step(start_worker: Worker, observer: Path) -> None:
    start_worker("inspected", MOTIA_TEST_OBSERVER=str(observer))
    post_job(topic="sig.jobs", id="long", sleep=6)
    wait_until(lambda: observed(observer, "execution_started", step="SigJob"), 30, what="the long job to start")
    inspected = subprocess.run(
        [sys.executable, "-m", "celery", "-A", "project", "inspect", "active", "--json", "--timeout", "5"],
        env=child_env(), capture_output=True, text=True, timeout=60, cwd=Path(__file__).resolve().parent.parent,
    )
    assert inspected.returncode == 0, inspected.stderr
    replies = json.loads(inspected.stdout)
    [running] = [task for tasks in replies.values() for task in tasks]
    assert (running["name"], running["type"]) == ("SigJob", "motia.deliver")
    assert next(iter(replies)).startswith("inspected@")


@pytest.mark.slow
@pytest.mark.services
def test_task_routes_move_one_step_to_a_dedicated_worker(start_worker: Worker, tmp_path: Path) -> None:
    server, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_SIG_QUEUE="sig-dedicated")
    try:
        start_worker("dedicated", queues="sig-dedicated", MOTIA_TEST_SIG_QUEUE="sig-dedicated")
        for topic in ("sig.jobs", "sig.async-jobs"):
            assert httpx.post(f"{base}/sig/jobs", json={"topic": topic, "id": "r1"}).status_code == 202
        wait_until(lambda: Execution.objects.filter(step="SigJob", status="succeeded").exists(), 30,
                   what="the routed step on its dedicated worker")
        # the step left on its topic's queue waits for a worker of that queue
        assert not Execution.objects.filter(step="SigAsyncJob").exists()
        assert Execution.objects.get(step="SigJob").worker.startswith("dedicated@")
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_http_executions_are_announced_and_a_failing_receiver_fails_nothing(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[tuple[str, dict[str, Any]]] = []

    def record(signal: Any, sender: Any, **fields: Any) -> None:
        seen.append(("started" if signal is execution_started else "finished", fields))

    def broken(sender: Any, **fields: Any) -> None:
        raise RuntimeError("receiver broke")

    execution_started.connect(record)
    execution_finished.connect(record)
    execution_started.connect(broken)
    try:
        trace_id = post_job(topic="sig.jobs", id="h1")
        Client().get("/responses/boom")
    finally:
        execution_started.disconnect(record)
        execution_finished.disconnect(record)
        execution_started.disconnect(broken)
    [(_, started), (_, finished), (_, boom_started), (_, boom_finished)] = seen
    assert (started["step"], started["trigger"], started["trace_id"]) == ("sig-publisher", "http", trace_id)
    assert isinstance(started["input"], MotiaHttpArgs) and started["input"].request.body["id"] == "h1"
    assert (finished["outcome"], finished["error"]) == ("succeeded", None) and finished["duration"] >= 0
    assert boom_started["step"] == boom_finished["step"] == "responses"
    assert boom_finished["outcome"] == "failed" and isinstance(boom_finished["error"], Exception)
    assert "receiver broke" in caplog.text


@pytest.fixture
def producer_spans() -> InMemorySpanExporter:
    """Spans finished in this process (the test's own provider, or the one another test module installed)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


@pytest.mark.slow
@pytest.mark.services
def test_the_consumer_span_continues_the_trace_that_enqueued(
    start_worker: Worker, observer: Path, producer_spans: InMemorySpanExporter
) -> None:
    start_worker(MOTIA_TEST_OBSERVER=str(observer))
    for topic, step in (("sig.jobs", "SigJob"), ("sig.async-jobs", "SigAsyncJob")):
        trace_id = post_job(topic=topic, id=f"otel-{step}")
        [producer] = [span for span in producer_spans.get_finished_spans()
                      if span.name == "motia sig-publisher" and span.attributes
                      and span.attributes["motia.trace_id"] == trace_id]
        wait_until(lambda step=step: observed(observer, "span", name=f"motia {step}"), 30, what=f"{step}'s span")
        [consumer] = observed(observer, "span", name=f"motia {step}")
        assert producer.context is not None
        assert consumer["trace_id"] == f"{producer.context.trace_id:032x}"
        assert consumer["parent_span_id"] == f"{producer.context.span_id:016x}"
