"""Step files in the shapes of Motia's own examples (``tests/real_motia_steps``), one folder per
Motia release, run together: HTTP through a live ASGI server, messages and state triggers through
a real Celery worker."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

import motia
from motia_django.context import FlowContext
from motia_django.models import Execution
from motia_django.registry import Registry
from motia_django.registry.legacy import LegacyContext
from motia_django.state.manager import StateManager
from motia_django.steps.io import TriggerInfo
from motia_django.store import SetResult

from .conftest import Process, start_uvicorn, wait_until
from .test_discovery import _manage

Worker = Callable[..., Process]
REAL = Path(__file__).resolve().parent / "real_motia_steps"


def stored(group: str, key: str) -> Any:
    return StateManager().get(group, key)


def test_every_file_loads_with_its_release_shape() -> None:
    registry = Registry.discover([REAL])
    assert registry.errors == [] and registry.warnings == []
    assert sorted(registry.steps) == [
        "rm-dual-trigger", "rm-greet", "rm-greetings-summary", "rm-ingestion-review", "rm-ingestion-status",
        "rm-on-user-state-change", "rm-premium-order", "rm-send-notification", "rm-start-ingestion",
        "rm-sync-ingestion"]
    # ``emits`` beside ``triggers`` (a Motia 1.0 config) is the step's enqueues
    assert registry.steps["rm-dual-trigger"].config.enqueue_topics == ["rm.dual"]


def test_motia_discover_lists_a_noop_step_as_noop() -> None:
    result = _manage("motia_discover", "--no-sync", steps=REAL)
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if line.startswith("rm-ingestion-review")]
    assert row.split()[2] == "noop"


@pytest.mark.slow
@pytest.mark.services
def test_each_release_shape_serves_requests_and_messages(start_worker: Worker, tmp_path: Path) -> None:
    start_worker(MOTIA_TEST_EXTRA_STEPS=str(REAL))
    server, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=str(REAL))
    try:
        with httpx.Client(base_url=base, timeout=15) as client:
            # Motia 0.x: api → event (0.x and 1.0.3 subscribers on one topic); state.set gives the stored value
            started = client.post("/rm/ingest", json={"documents": ["a.pdf", "b.pdf"], "property_id": "p1",
                                                      "ingestion_id": "job-1"})
            assert started.status_code == 202, started.text
            assert started.json() == {"ingestion_id": "job-1",
                                      "job": {"status": "processing", "documents": ["a.pdf", "b.pdf"]}}
            assert client.post("/rm/ingest", json={"documents": [], "property_id": "p1"}).status_code == 400
            wait_until(lambda: stored("rm-notifications", "job-1") is not None, 30, what="the 0.x event step")
            notice = stored("rm-notifications", "job-1")
            assert notice["type"] == "ingestion_started" and notice["documents"] == 2
            assert notice["traceId"] == started.headers["X-Trace-Id"] and notice["flows"] == ["rm-ingestion"]
            wait_until(lambda: stored("rm-ingestion-jobs", "job-1")["status"] == "completed", 30,
                       what="the 1.0.3 queue step")
            status = client.get("/rm/ingest/job-1")
            assert status.status_code == 200 and status.json() == {
                "ingestion_id": "job-1", "status": "completed", "documents": ["a.pdf", "b.pdf"]}
            assert client.get("/rm/ingest/nope").json() == {"error": "Ingestion job not found: nope"}

            # Motia 1.0: (request, ctx) handlers and ctx.match branches, a 0.x stream file's schema
            for name in ("Ada", "Grace"):
                assert client.get("/rm/greet", params={"name": name}).json() == {
                    "name": name, "message": f"Hello, {name}!"}
            assert client.get("/rm/greetings/summary").json() == {"count": 2, "names": ["Ada", "Grace"],
                                                                   "trigger": "http"}
            dual = client.post("/rm/dual", json={"key": "from-api"})
            assert dual.status_code == 200 and dual.json() == {"path": "/rm/dual", "method": "POST"}
            wait_until(lambda: stored("rm-dual-seen", "from-api") is not None, 30, what="the queue branch")
            assert stored("rm-dual-seen", "from-api") == {"data": {"key": "from-api", "via": "api"},
                                                          "topic": "rm.dual"}
            # the 0.x event step's write fired the 1.0 state trigger, whose condition left the jobs' writes out
            wait_until(lambda: stored("rm-dual-seen", "job-1") is not None, 30, what="the state trigger")
            assert stored("rm-dual-seen", "job-1")["data"] == {"key": "job-1", "old": None, "new": "sent"}
            wait_until(lambda: Execution.objects.filter(step="rm-on-user-state-change", status="skipped").exists(),
                       30, what="the writes the condition left out")

            # Motia 1.0.3+: a condition on the ApiRequest, a one-argument handler
            order = {"amount": 5000, "user": {"verified": True}}
            assert client.post("/rm/orders/premium", json=order).json() == {
                "message": "Premium order processed", "data": order}
            refused = client.post("/rm/orders/premium", json={"amount": 5000, "user": {"verified": False}})
            assert refused.status_code == 422 and refused.json()["skipped"] is True
    finally:
        server.stop()


async def test_match_gives_a_cron_branch_the_context_when_it_takes_one() -> None:
    """Motia 1.0's ``cron(ctx)`` and Motia 1.0.3's ``cron()`` branches both run."""
    ctx = FlowContext(trigger=TriggerInfo(type="cron", expression="0 0 1 1 *"))
    assert await ctx.match({"cron": lambda c: c}) is ctx
    assert await ctx.match({"cron": lambda: "no argument"}) == "no argument"
    assert await ctx.match({"http": lambda r, c: None, "default": lambda value, c: (value, c)}) == (None, ctx)
    step = motia.multi_trigger_step({"name": "rm-multi", "triggers": [motia.cron("0 0 1 1 *")]}).on_cron(
        lambda c: c.trigger.expression).handlers()
    assert step.handler(None, ctx) == "0 0 1 1 *"


@pytest.mark.django_db(transaction=True)
async def test_a_0x_context_state_set_returns_the_stored_value() -> None:
    context = LegacyContext(FlowContext())
    assert await context.state.set("rm-legacy", "k", {"n": 1}) == {"n": 1}
    assert await context.state.get("rm-legacy", "k") == {"n": 1}
    assert isinstance(await FlowContext().state.set("rm-legacy", "k", {"n": 2}), SetResult)  # today's answer


@pytest.mark.django_db(transaction=True)
def test_a_0x_context_state_set_in_sync_code_returns_the_stored_value() -> None:
    assert LegacyContext(FlowContext()).state.set("rm-legacy", "s", [1, 2]) == [1, 2]
    assert stored("rm-legacy", "s") == [1, 2]


def test_step_is_built_by_keyword_as_motia_builds_it() -> None:
    config = {"name": "rm-described", "triggers": [motia.queue("rm.described")]}
    built = motia.Step(file_path="steps/rm_described_step.py", config=config)
    assert isinstance(built, motia.StepDefinition) and built.name == "rm-described"
    assert built.file_path == "steps/rm_described_step.py" and built.config.enqueues == []
    with pytest.raises(RuntimeError, match="'rm-described' was built without a handler"):
        built.handler(None, FlowContext(built))
    positional = motia.Step(config, lambda data, ctx: data * 2, "x_step.py")
    assert positional(3, None) == 6 and positional.file_path == "x_step.py"


def test_the_request_body_type_is_public() -> None:
    assert "RequestBody" in motia.__all__
    body = motia.RequestBody(b"abc")
    assert body == b"abc" and list(body.chunks()) == [b"abc"]
