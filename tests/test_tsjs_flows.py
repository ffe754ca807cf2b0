"""TypeScript and JavaScript steps across the whole runtime (``tests/ts_flow_steps``).

An all-TypeScript ticket flow with a cron sweep, state and stream triggers with a JS condition, a FIFO
queue, a stream reaching a WebSocket client, the step-file forms and ``ctx.getData``/``ctx.is``: through a
live uvicorn server and real Celery workers that load the folder (``MOTIA_TEST_EXTRA_STEPS``).  Then the
``motia`` imports of a project that has the npm ``motia`` package installed, and ``motia_dev`` reloading a
changed ``.step.ts``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone

from motia_django.cron.tasks import produce_tick
from motia_django.models import Execution, StateEntry
from motia_django.registry import Registry

from .conftest import ROOT, Process, assert_fifo_order, interrupt, start_uvicorn, wait_until
from .test_dev_runtime import _get, _start
from .test_streams import Client, ws_url
from .test_tsjs_steps import Worker, node_runtime  # noqa: F401 - a fixture, used by every test here

FLOW_STEPS = ROOT / "tests" / "ts_flow_steps"

pytestmark = [pytest.mark.slow, pytest.mark.services, pytest.mark.usefixtures("node_runtime")]


@pytest.fixture
def server(transactional_db: None, broker_url: str, tmp_path: Path) -> Iterator[str]:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=str(FLOW_STEPS))
    yield base
    proc.stop()


@pytest.fixture
def worker(start_worker: Worker, server: str) -> Process:
    return start_worker(MOTIA_TEST_EXTRA_STEPS=str(FLOW_STEPS), concurrency=3)


def stored(group: str) -> dict[str, Any]:
    return {entry.key: entry.value for entry in StateEntry.objects.filter(group=group)}


# -- an all-TypeScript flow -------------------------------------------------------------------------


def test_a_typescript_ticket_flow_with_a_queue_an_http_and_a_cron_branch(server: str, worker: Process) -> None:
    bad = httpx.post(f"{server}/tsf/tickets", json={"title": "Login", "customer": "not-an-email"}, timeout=30)
    assert bad.status_code == 400 and bad.json()["errors"][0]["path"] == "customer", bad.text
    for title, customer in (("Login broken", "ann@vip.example"), ("Invoice held", "bob@shop.example"),
                            ("Printer", "cy@shop.example")):
        created = httpx.post(f"{server}/tsf/tickets", json={"title": title, "customer": customer}, timeout=30)
        assert created.status_code == 201, created.text

    def listed() -> dict[str, dict[str, Any]]:
        response = httpx.get(f"{server}/tsf/tickets", timeout=30)
        assert response.status_code == 200, response.text
        return {t["id"]: t for t in response.json()["tickets"]}

    wait_until(lambda: [t.get("triagedBy") for t in listed().values()] == [None, "queue", "queue"], 60,
               what=lambda: f"the queue branch; worker said:\n{worker.tail()}")
    tickets = listed()
    assert [(t["id"], t["status"], t.get("team")) for t in tickets.values()] == [  # listed by id
        ("TSF-invoice-held", "open", None),  # the queue branch leaves it to the sweep
        ("TSF-login-broken", "triaged", "priority"), ("TSF-printer", "triaged", "desk")]

    schedules = [b for b in Registry.discover([FLOW_STEPS]).schedules if b.step.name == "TsfTriage"]
    assert len(schedules) == 1
    produce_tick(schedules[0], "0 * * * *", timezone.now().replace(microsecond=0, second=0))
    wait_until(lambda: listed()["TSF-invoice-held"]["status"] == "triaged", 60,
               what=lambda: f"the cron branch; worker said:\n{worker.tail()}")
    swept = listed()["TSF-invoice-held"]
    assert (swept["triagedBy"], swept["team"]) == ("cron", "desk")
    assert listed()["TSF-login-broken"]["triagedBy"] == "queue"  # the sweep only took the open one

    manual = httpx.post(f"{server}/tsf/triage/TSF-printer", timeout=30)
    assert manual.status_code == 200 and manual.json()["triagedBy"] == "http", manual.text
    assert httpx.post(f"{server}/tsf/triage/TSF-nothing", timeout=30).status_code == 404
    records = Execution.objects.filter(step="TsfTriage")
    succeeded = records.filter(status="succeeded").values_list("trigger_type", flat=True)
    wait_until(lambda: {"queue", "cron"} <= set(succeeded.all()),  # a fresh query each time
               30, what=lambda: f"the queue and cron records: {list(records.values('trigger_type', 'status'))}")


# -- state and stream triggers ----------------------------------------------------------------------


def test_a_js_step_runs_on_python_state_changes_its_condition_accepts(server: str, worker: Process) -> None:
    assert httpx.put(f"{server}/tsf/watched/quiet", json={"notify": False}, timeout=30).status_code == 204
    assert httpx.put(f"{server}/tsf/watched/loud", json={"notify": False}, timeout=30).status_code == 204
    assert httpx.put(f"{server}/tsf/watched/loud", json={"notify": True, "n": 2}, timeout=30).status_code == 204
    wait_until(lambda: "loud" in stored("tsf-state-seen"), 60,
               what=lambda: f"the state trigger; worker said:\n{worker.tail()}")
    assert stored("tsf-state-seen") == {"loud": {"old": {"notify": False}, "new": {"notify": True, "n": 2},
                                                 "trigger": "state", "isState": True}}
    # every other change is refused by the condition (the two above, and the step's own write)
    records = Execution.objects.filter(step="TsfStateWatch")
    wait_until(lambda: records.filter(status="skipped").count() >= 3, 30, what="the refused changes' records")
    assert list(records.exclude(status="skipped").values_list("status", flat=True)) == ["succeeded"]


def test_a_stream_written_from_typescript_reaches_websockets_and_js_stream_triggers(
        server: str, worker: Process) -> None:
    with Client(ws_url(server)) as client:
        client.join("tsf-board", "lane")
        assert client.event() == {"type": "sync", "data": []}
        written = httpx.put(f"{server}/tsf/board/card-1", json={"title": "Ship it"}, timeout=30)
        assert written.status_code == 200, written.text
        assert written.json() == {"old_value": None, "new_value": {"title": "Ship it"}}  # what set() resolved to
        frame = client.recv()
        assert (frame["streamName"], frame["groupId"], frame["id"]) == ("tsf-board", "lane", "card-1")
        assert frame["event"] == {"type": "create", "data": {"title": "Ship it", "id": "card-1"}}
        assert httpx.delete(f"{server}/tsf/board/card-1", timeout=30).status_code == 204
        assert client.event() == {"type": "delete", "data": {"title": "Ship it", "id": "card-1"}}
    wait_until(lambda: {"card-1-create", "card-1-delete"} <= set(stored("tsf-stream-seen")), 60,
               what=lambda: f"the stream trigger; worker said:\n{worker.tail()}")
    assert stored("tsf-stream-seen")["card-1-create"] == {
        "stream": "tsf-board", "group": "lane", "data": {"title": "Ship it"}, "isStream": True}


# -- FIFO ---------------------------------------------------------------------------------------------


def test_a_typescript_fifo_step_keeps_each_group_in_order(server: str, start_worker: Worker) -> None:
    start_worker("tsf1", concurrency=3, MOTIA_TEST_EXTRA_STEPS=str(FLOW_STEPS))
    start_worker("tsf2", concurrency=3, MOTIA_TEST_EXTRA_STEPS=str(FLOW_STEPS))
    assert httpx.post(f"{server}/tsf/fifo", json={"groups": 4, "perGroup": 25}, timeout=60).status_code == 202
    wait_until(lambda: StateEntry.objects.filter(group="tsf-fifo-log").count() == 100, 180, interval=1,
               what="100 FIFO messages")
    log = list(stored("tsf-fifo-log").values())
    assert_fifo_order(log, 25)
    assert len({e["pid"] for e in log}) > 1, "one Node worker ran every message"


# -- step-file forms and the context helpers ---------------------------------------------------------


def test_every_step_file_form_serves_and_get_data_and_is_tell_the_trigger(server: str, worker: Process) -> None:
    assert httpx.get(f"{server}/tsf/forms/destructured", timeout=30).json() == {"form": "destructured"}
    builder = httpx.get(f"{server}/tsf/forms/builder?x=1", timeout=30)
    assert builder.status_code == 200 and builder.json() == {"form": "builder", "query": {"x": "1"}}

    echoed = httpx.post(f"{server}/tsf/echo", json={"word": "hi"}, timeout=30)  # export default step(...)
    assert echoed.status_code == 200, echoed.text
    assert echoed.json() == {"data": {"word": "hi"}, "isHttp": True, "isQueue": False, "isCron": False,
                             "isState": False, "isStream": False}
    wait_until(lambda: "hi" in stored("tsf-echo"), 60, what=lambda: f"the queue trigger; worker said:\n{worker.tail()}")
    assert stored("tsf-echo")["hi"] == {"data": {"word": "hi"}, "isHttp": False, "isQueue": True, "isCron": False,
                                        "isState": False, "isStream": False}


# -- imports of a project with the npm motia package installed ---------------------------------------

STUB = """export const marker = 'npm {name} 9.9.9'
export const http = () => ({{ type: 'http', method: 'GET', path: '/npm' }})
"""
IMPORTING = """import * as motia from '{module}'
import {{ http, step }} from '{module}'

export default step({{ name: '{name}', triggers: [http('GET', '/tsf/imports/{name}')] }}, async () => ({{
  status: 200, body: {{ marker: (motia as any).marker ?? null, runtime: typeof (motia as any).isStep }},
}}))
"""


def test_motia_imports_resolve_to_this_runtime_over_an_installed_npm_package(
        transactional_db: None, tmp_path: Path) -> None:
    project = tmp_path / "project"
    for name in ("motia", "@iii-dev/motia"):
        package = project / "node_modules" / name
        package.mkdir(parents=True)
        (package / "package.json").write_text(f'{{"name": "{name}", "version": "9.9.9", "type": "module", '
                                              '"main": "index.js"}')
        (package / "index.js").write_text(STUB.format(name=name))
    steps = project / "steps"
    steps.mkdir()
    (steps / "plain.step.ts").write_text(IMPORTING.format(module="motia", name="TsfPlainImport"))
    (steps / "scoped.step.ts").write_text(IMPORTING.format(module="@iii-dev/motia", name="TsfScopedImport"))

    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=str(steps))
    try:
        for name in ("TsfPlainImport", "TsfScopedImport"):
            response = httpx.get(f"{base}/tsf/imports/{name}", timeout=30)
            assert response.status_code == 200, f"{name}: {response.text}\n{proc.tail()}"
            assert response.json() == {"marker": None, "runtime": "function"}
    finally:
        proc.stop()


# -- motia_dev ---------------------------------------------------------------------------------------

GREETING = """import {{ http, step }} from 'motia'

export default step({{ name: 'TsfGreet', triggers: [http('GET', '/tsf/greet')] }},
  async () => ({{ status: 200, body: {{ greeting: '{word}' }} }}))
"""


def test_motia_dev_reloads_a_changed_step_ts(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "greet.step.ts").write_text(GREETING.format(word="hello"))
    proc, base = _start(tmp_path, steps, "--no-beat", "--no-worker")
    try:
        wait_until(lambda: (_get(f"{base}/tsf/greet") or httpx.Response(500)).status_code == 200, 60,
                   what=lambda: f"the dev server:\n{proc.tail()}")
        assert httpx.get(f"{base}/tsf/greet", timeout=30).json() == {"greeting": "hello"}
        (steps / "greet.step.ts").write_text(GREETING.format(word="bonjour"))
        wait_until(lambda: (_get(f"{base}/tsf/greet") or httpx.Response(500, json={})).json()
                   == {"greeting": "bonjour"}, 60, interval=0.3, what=lambda: f"the changed step:\n{proc.tail()}")
    finally:
        interrupt(proc)
    shutil.rmtree(tmp_path / "var", ignore_errors=True)
