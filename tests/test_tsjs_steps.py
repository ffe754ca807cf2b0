"""TypeScript and JavaScript step files (``tests/ts_steps``) beside Python ones.

A live uvicorn server and a real Celery worker load them (``MOTIA_TEST_EXTRA_STEPS``) together with
``tests/ts_broken_steps``, whose syntax error leaves every other step serving.  The Node package's
dependencies are installed from its lock file when they are missing.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from asgiref.sync import async_to_sync
from django.test import override_settings

from motia_django.models import DeadLetter, Execution
from motia_django.node import bridge
from motia_django.node.steps import JS_STEP_FILE_SUFFIXES
from motia_django.node.streams import JS_STREAM_FILE_SUFFIXES
from motia_django.registry import Registry
from motia_django.schemas import SchemaViolation
from motia_django.state.manager import StateManager
from motia_django.streams.auth import StreamSubscription, can_join
from motia_django.streams.stream import declared_streams
from motia_django.workbench.graph import build_graph
from motia_django.workbench.openapi import openapi_document

from .conftest import ROOT, Process, require_tool, start_uvicorn, wait_until
from .test_streams import Client, ws_url

Worker = Callable[..., Process]

TS_STEPS = ROOT / "tests" / "ts_steps"
TS_BROKEN = ROOT / "tests" / "ts_broken_steps"
EXTRA_STEPS = os.pathsep.join([str(TS_STEPS), str(TS_BROKEN)])


@pytest.fixture(scope="session")
def node_runtime() -> None:
    """Node, with ``motia_django/node``'s dependencies installed (``npm ci`` from the lock file if missing)."""
    require_tool("node")
    if all((bridge.PACKAGE_DIR / "node_modules" / m).is_dir() for m in bridge.REQUIRED_MODULES):
        return
    done = subprocess.run([require_tool("npm"), "ci", "--no-audit", "--no-fund"], cwd=bridge.PACKAGE_DIR,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture
def marks(tmp_path: Path) -> Path:
    """Where the crash step leaves the PID of the Node worker running its first attempt."""
    path = tmp_path / "marks"
    path.mkdir()
    return path


@pytest.fixture
def ts_server(node_runtime: None, transactional_db: None, broker_url: str, tmp_path: Path,
              marks: Path) -> Iterator[tuple[Process, str]]:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=EXTRA_STEPS,
                               MOTIA_TEST_TS_MARKS=str(marks))
    yield proc, base
    proc.stop()


@pytest.fixture
def ts_worker(start_worker: Worker, ts_server: tuple[Process, str], marks: Path) -> Process:
    return start_worker(MOTIA_TEST_EXTRA_STEPS=EXTRA_STEPS, MOTIA_TEST_TS_MARKS=str(marks))


def state(group: str, key: str) -> Any:
    return StateManager().get(group, key)


# -- HTTP --------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.services
def test_a_ts_http_step_validates_its_body_with_its_zod_schema(ts_server: tuple[Process, str]) -> None:
    _, base = ts_server
    missing = httpx.post(f"{base}/ts/tickets", json={"priority": "high"}, timeout=30)
    assert missing.status_code == 400, missing.text
    assert missing.json()["errors"][0]["message"] == "'title' is a required property"
    wrong = httpx.post(f"{base}/ts/tickets", json={"title": "Printer", "priority": "urgent"}, timeout=30)
    assert wrong.status_code == 400 and wrong.json()["errors"][0]["path"] == "priority"
    assert state("ts-tickets", "T-printer") is None

    created = httpx.post(f"{base}/ts/tickets", json={"title": "Printer on fire"}, timeout=30)
    assert created.status_code == 201, created.text
    trace_id = created.headers["X-Trace-Id"]
    assert created.json() == {"id": "T-printer-on-fire", "traceId": trace_id}
    assert state("ts-tickets", "T-printer-on-fire") == {"title": "Printer on fire", "priority": "low"}
    assert httpx.get(f"{base}/ts/broken", timeout=30).status_code == 404  # the broken file defines nothing


@pytest.mark.slow
@pytest.mark.services
def test_a_js_exception_is_a_500_with_the_trace_id(ts_server: tuple[Process, str]) -> None:
    proc, base = ts_server
    response = httpx.post(f"{base}/ts/jobs", json={"kind": "undeclared", "job": "j0"}, timeout=30)
    assert response.status_code == 500
    assert response.json() == {"error": "Internal Server Error", "traceId": response.headers["X-Trace-Id"]}
    # ctx.enqueue refused the topic in Python; the JS handler did not catch it, so the step failed with it
    wait_until(lambda: "may not enqueue to 'ts-undeclared'" in proc.output(), 10, what="the logged failure")


@pytest.mark.slow
@pytest.mark.services
def test_ts_middleware_runs_in_order_around_the_handler_and_can_answer_first(
        ts_server: tuple[Process, str]) -> None:
    _, base = ts_server
    refused = httpx.get(f"{base}/ts/guarded", timeout=30)
    assert (refused.status_code, refused.json()) == (401, {"error": "an API key is required"})
    assert "x-guarded" not in refused.headers
    allowed = httpx.get(f"{base}/ts/guarded", headers={"X-Api-Key": "open-sesame"}, timeout=30)
    assert allowed.status_code == 200, allowed.text
    assert allowed.headers["x-guarded"] == "yes"
    assert allowed.json() == {"caller": "key holder", "seen": ["config", "trigger"],
                              "rewritten": "by config middleware"}


# -- flows through the worker --------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.services
def test_ts_and_python_steps_share_one_flow_state_and_trace(ts_server: tuple[Process, str],
                                                           ts_worker: Process) -> None:
    _, base = ts_server
    created = httpx.post(f"{base}/ts/tickets", json={"title": "VPN down", "priority": "high"}, timeout=30)
    assert created.status_code == 201, created.text
    trace_id = created.headers["X-Trace-Id"]

    wait_until(lambda: state("ts-notified", "T-vpn-down") is not None, 60,
               what=lambda: f"the TypeScript queue step; worker said:\n{ts_worker.tail()}")
    assert state("ts-notified", "T-vpn-down") == {
        "title": "VPN down", "priority": "high",
        "team": "escalations", "triagedBy": "python", "triageTrace": trace_id,
        "notifiedBy": "typescript", "notifyTrace": trace_id,
        "trigger": {"type": "queue", "index": 0, "topic": "ts-ticket.triaged"},
    }
    wait_until(lambda: set(Execution.objects.filter(trace_id=trace_id, status="succeeded")
                           .values_list("step", flat=True)) == {"TsCreateTicket", "TsTriage", "TsNotify"},
               30, what="one trace across the three steps")


@pytest.mark.slow
@pytest.mark.services
def test_a_failing_js_queue_step_retries_then_dead_letters_with_the_js_stack(
        ts_server: tuple[Process, str], ts_worker: Process) -> None:
    _, base = ts_server
    assert httpx.post(f"{base}/ts/jobs", json={"kind": "fail", "job": "j1"}, timeout=30).status_code == 202

    wait_until(lambda: DeadLetter.objects.filter(step="TsAlwaysFails").exists(), 60,
               what=lambda: f"the dead letter; worker said:\n{ts_worker.tail()}")
    dead = DeadLetter.objects.get(step="TsAlwaysFails")
    assert dead.attempts == 3 and dead.payload == {"job": "j1"}
    assert dead.error_type == "JavaScriptError"
    assert dead.error.startswith("JavaScriptError: Error: card declined for j1\n")
    assert f"at chargeCard ({TS_STEPS / 'failing_step.js'}:8:" in dead.error  # the JS stack, in the source file
    attempts = Execution.objects.filter(step="TsAlwaysFails").order_by("attempt")
    assert [(e.attempt, e.status) for e in attempts] == [(1, "failed"), (2, "failed"), (3, "dead")]


@pytest.mark.slow
@pytest.mark.services
def test_a_message_whose_node_worker_is_killed_is_redelivered_and_completes(
        ts_server: tuple[Process, str], ts_worker: Process, marks: Path) -> None:
    _, base = ts_server
    assert httpx.post(f"{base}/ts/jobs", json={"kind": "crash", "job": "c1"}, timeout=30).status_code == 202
    mark = marks / "c1.pid"
    wait_until(mark.exists, 60, what=lambda: f"the first attempt; worker said:\n{ts_worker.tail()}")
    first_node = int(mark.read_text())
    os.kill(first_node, signal.SIGKILL)  # the Node process that the worker's pool started for the step

    wait_until(lambda: state("ts-crash", "c1") is not None, 60,
               what=lambda: f"the second attempt; worker said:\n{ts_worker.tail()}")
    assert state("ts-crash", "c1")["completedBy"] != first_node
    wait_until(lambda: Execution.objects.filter(step="TsSurvivesCrash", attempt=2, status="succeeded").exists(), 30,
               what="the record of the second attempt")
    failed = Execution.objects.get(step="TsSurvivesCrash", attempt=1)
    assert failed.status == "failed" and f"the Node worker (pid {first_node}) exited" in failed.error
    assert not DeadLetter.objects.filter(step="TsSurvivesCrash").exists()


# -- discovery -------------------------------------------------------------------------------------


def test_motia_discover_lists_ts_steps_with_their_files_and_the_syntax_error(node_runtime: None) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings", "MOTIA_TEST_EXTRA_STEPS": EXTRA_STEPS,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "manage.py", "motia_discover", "--json"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    report = json.loads(done.stdout)
    files = {s["name"]: s["file"] for s in report["steps"] if s["name"].startswith("Ts")}
    assert files == {
        "TsCreateTicket": str(TS_STEPS / "create_ticket.step.ts"), "TsNotify": str(TS_STEPS / "notify.step.ts"),
        "TsTriage": str(TS_STEPS / "triage_step.py"), "TsStartJob": str(TS_STEPS / "jobs.step.js"),
        "TsAlwaysFails": str(TS_STEPS / "failing_step.js"), "TsSurvivesCrash": str(TS_STEPS / "crash.step.ts"),
        "TsGuarded": str(TS_STEPS / "guarded.step.ts"),
    }
    create = next(s for s in report["steps"] if s["name"] == "TsCreateTicket")
    assert create["triggers"] == [{"type": "http", "method": "POST", "path": "/ts/tickets"}]
    assert create["enqueues"] == [{"topic": "ts-ticket.created"}] and create["flows"] == ["ts-support"]
    assert [e for e in report["errors"] if "ts_" in e["file"]] == [
        {"file": str(TS_BROKEN / "broken.step.ts"), "line": 6, "step": None, "message": 'SyntaxError: Unexpected "}"'},
    ]


def test_the_zod_schemas_become_the_json_schemas_python_validates_with(node_runtime: None) -> None:
    registry = Registry.discover([TS_STEPS])
    route = next(b for b in registry.routes if b.step.name == "TsCreateTicket")
    assert route.trigger.body_schema == {  # type: ignore[union-attr]
        "type": "object", "required": ["title"],
        "properties": {"title": {"type": "string", "minLength": 1},
                       "priority": {"type": "string", "enum": ["low", "high"]}},
    }
    queue = next(b for b in registry.subscriptions if b.step.name == "TsAlwaysFails")
    policy = queue.trigger.config  # type: ignore[union-attr]
    assert (policy.max_retries, policy.backoff_delay_ms, policy.backoff_type) == (2, 100, "fixed")


def test_ts_steps_show_in_the_flow_graph_and_the_openapi_document(node_runtime: None) -> None:
    registry = Registry.discover([TS_STEPS])
    flow = build_graph(registry).flow("ts-support")
    assert flow is not None
    edges = {(edge.source, edge.target) for edge in flow.edges}
    # the TypeScript step enqueues to the topic the Python step subscribes to
    assert {("step:TsCreateTicket", "topic:ts-ticket.created"), ("topic:ts-ticket.created", "step:TsTriage")} <= edges
    document = openapi_document(registry)
    operation = document["paths"]["/ts/tickets"]["post"]
    body = operation["requestBody"]["content"]["application/json"]["schema"]
    assert body["required"] == ["title"] and set(body["properties"]) == {"title", "priority"}
    assert (operation["operationId"], operation["summary"], operation["tags"]) == (
        "TsCreateTicket", "Opens a ticket (TypeScript)", ["ts-support"])


def test_without_node_ts_steps_are_one_clear_error_and_python_steps_load(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    monkeypatch.setattr(bridge, "_bridge", None)  # as in a process that has not started one yet
    with override_settings(MOTIA={**settings.MOTIA, "NODE_BINARY": str(tmp_path / "no-node")}):
        registry = Registry.discover([TS_STEPS])
    assert list(registry.steps) == ["TsTriage"]
    [error] = registry.errors
    assert error.message.startswith(f"Node.js ({str(tmp_path / 'no-node')!r}) was not found on PATH")
    js_files = sorted(p.name for p in TS_STEPS.rglob("*")
                      if p.name.endswith(JS_STEP_FILE_SUFFIXES + JS_STREAM_FILE_SUFFIXES))
    assert f"Not loaded: {len(js_files)} TypeScript/JavaScript file(s)" in error.message
    assert all(name in error.message for name in js_files) and error.message.endswith("the Python steps serve")


def test_without_the_node_packages_it_is_one_error_naming_the_fix(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bridge, "_bridge", None)
    monkeypatch.setattr(bridge, "PACKAGE_DIR", tmp_path)  # a package folder where npm never ran
    registry = Registry.discover([TS_STEPS])
    [error] = registry.errors
    assert "(esbuild, zod) are not installed: run 'npm ci'" in error.message
    assert list(registry.steps) == ["TsTriage"]


def test_a_stream_declared_in_typescript_validates_its_items_and_asks_its_can_access(
        node_runtime: None, django_user_model: Any) -> None:
    registry = Registry.discover([TS_STEPS])
    assert not [e for e in registry.errors if "ts_board" in e.file]
    config = declared_streams()["tsBoard"]
    assert config.base_config == {"storageType": "default"}
    assert config.compiled_schema is not None
    assert config.compiled_schema.validate({"title": "Roadmap", "votes": 3}) == {"title": "Roadmap", "votes": 3}
    with pytest.raises(SchemaViolation, match="votes"):
        config.compiled_schema.validate({"title": "Roadmap", "votes": -1})

    def join(group: str, auth: Any) -> bool:
        return async_to_sync(can_join)(config, StreamSubscription("tsBoard", group, None, "s1"), auth)

    alice = django_user_model(username="alice")
    assert join("public", None) and not join("private", None)
    assert join("private", alice) and not join("private", django_user_model(username="bob"))
    assert join("private", {"user": "alice"}) and not join("private", {"user": "bob"})  # an authenticate hook's
    Registry.discover([TS_STEPS])  # discovering again is not a redeclaration
    assert declared_streams()["tsBoard"].compiled_schema is not None


@pytest.mark.slow
@pytest.mark.services
def test_a_websocket_join_of_a_ts_stream_is_decided_by_its_can_access_in_node(
        ts_server: tuple[Process, str]) -> None:
    _, base = ts_server
    url = ws_url(base)
    with Client(url, token="alice-token") as alice, Client(url, token="bob-token") as bob, Client(url) as anonymous:
        anonymous.join("tsBoard", "public")
        assert anonymous.event() == {"type": "sync", "data": []}
        bob.join("tsBoard", "private")
        assert bob.recv()["event"] == {"type": "unauthorized"}
        alice.join("tsBoard", "private")
        assert alice.event() == {"type": "sync", "data": []}


def test_a_project_without_js_steps_never_starts_node(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.conf import settings

    monkeypatch.setattr(bridge, "_bridge", None)
    with override_settings(MOTIA={**settings.MOTIA, "NODE_BINARY": str(tmp_path / "no-node")}):
        registry = Registry.discover([ROOT / "tests" / "app_steps"])
    assert registry.steps and not registry.errors and bridge._bridge is None
