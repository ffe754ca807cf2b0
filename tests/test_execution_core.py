"""How handlers run: each kind as itself, on real servers (gunicorn, uvicorn) and a real Celery worker.

* sync user code (handlers, ``ctx.match`` branches, ``multi_trigger_step`` handlers)
  may use the ORM and plain ``ctx.state`` calls, whatever the server;
* a sync handler runs on the request thread under WSGI, and in a thread per
  request under ASGI, so one stuck request holds up no other;
* an async handler runs on the server's loop under ASGI and on the request
  thread's long-lived loop under WSGI;
* ``ATOMIC_REQUESTS`` wraps sync handlers, and their failure rolls back;
* a timed-out handler is stopped, and the worker process goes on at full speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client

from motia_django.models import DeadLetter, Execution, OutboxMessage, StateEntry

from .conftest import Process, child_env, free_port, serve_http, start_uvicorn, wait_until

Worker = Callable[..., Process]


def state(group: str) -> dict[str, Any]:
    return dict(StateEntry.objects.filter(group=group).values_list("key", "value"))


def start_gunicorn(log: Path, worker_class: str, **env: str) -> tuple[Process, str]:
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--bind", f"127.0.0.1:{port}",
            "--workers", "1", "--worker-class", worker_class, "--log-level", "warning"]
    if worker_class == "gthread":
        args += ["--threads", "4"]
    return serve_http(args, port, log, child_env(**env), "gunicorn")


SERVERS = ["gunicorn-sync", "gunicorn-gthread", "uvicorn"]


@pytest.fixture
def serve(transactional_db: None, tmp_path: Path) -> Iterator[Callable[..., str]]:
    """Start a real server of a kind (``gunicorn-sync``, ``gunicorn-gthread``, ``uvicorn``); yields its URL."""
    started: list[Process] = []

    def start(kind: str, **env: str) -> str:
        log = tmp_path / f"{kind}-{len(started)}.log"
        proc, base = start_uvicorn(log, **env) if kind == "uvicorn" else start_gunicorn(log, kind.split("-")[1], **env)
        started.append(proc)
        return base

    yield start
    for proc in started:
        proc.stop()


# -- sync user code in every place -------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_sync_match_branch_uses_the_orm_and_plain_state_calls_in_process() -> None:
    response = Client().post("/core/match", json.dumps({"key": "inproc"}), content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["stored"] == {"via": "http", "groups": 1}
    assert body["read"] == {"via": "http", "groups": 1}
    assert Group.objects.filter(name="http-inproc").exists()
    assert state("core-match")["inproc"] == {"via": "http", "groups": 1}


@pytest.mark.django_db(transaction=True)
def test_multi_trigger_step_with_sync_handlers_runs_them_directly() -> None:
    response = Client().post("/core/multi", json.dumps({"key": "m1"}), content_type="application/json")
    assert response.status_code == 200, response.content
    assert response.json() == {"stored": {"via": "multi", "groups": 1}, "groups": 1}


@pytest.mark.django_db(transaction=True)
def test_a_dropped_awaitable_fails_the_execution_instead_of_doing_nothing() -> None:
    response = Client().post("/core/unawaited", "{}", content_type="application/json")
    assert response.status_code == 500
    assert state("core-unawaited") == {}
    from motia_django.tracing.recorder import flush

    flush()
    [row] = Execution.objects.filter(step="core-unawaited")
    assert "NotAwaited" in row.error and "await state.set" in row.error


@pytest.mark.slow
@pytest.mark.parametrize("kind", SERVERS)
def test_sync_match_branch_over_a_real_server_and_worker(kind: str, serve: Callable[..., str],
                                                        start_worker: Worker) -> None:
    start_worker()
    base = serve(kind)
    reply = httpx.post(f"{base}/core/match", json={"key": kind}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert reply.json()["stored"] == {"via": "http", "groups": 1}
    wait_until(lambda: f"{kind}-queue" in state("core-match"), 30, what="the sync queue branch")
    assert state("core-match")[f"{kind}-queue"] == {"via": "queue", "groups": 1}


# -- where each kind runs ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", SERVERS)
def test_sync_and_async_handlers_run_as_their_kind(kind: str, serve: Callable[..., str]) -> None:
    base = serve(kind)
    with httpx.Client(base_url=base, timeout=10) as client:
        sync_runs = [client.get("/core/kind/sync").json() for _ in range(3)]
        async_runs = [client.get("/core/kind/async").json() for _ in range(12)]
    assert all(run["loop"] is None for run in sync_runs), sync_runs  # plain code: no loop under it
    assert all(run["loop"] is not None for run in async_runs), async_runs
    loops_by_thread: dict[str, set[int]] = {}
    for run in async_runs:
        loops_by_thread.setdefault(run["thread"], set()).add(run["loop"])
    # one long-lived loop per thread, not one per request (gthread may hand requests to several threads)
    assert all(len(loops) == 1 for loops in loops_by_thread.values()), loops_by_thread
    if kind == "gunicorn-sync":
        # the request thread itself: no hop to another thread
        assert {run["thread"] for run in sync_runs + async_runs} == {"MainThread"}
    elif kind == "gunicorn-gthread":
        assert all(not run["thread"].startswith("motia-") for run in sync_runs + async_runs)
    else:
        assert {run["thread"] for run in async_runs} == {"MainThread"}, "async handlers run on the server's loop"
        assert all(run["thread"] != "MainThread" for run in sync_runs)


@pytest.mark.slow
def test_under_asgi_a_stuck_sync_handler_holds_up_no_other(serve: Callable[..., str]) -> None:
    base = serve("uvicorn")
    slow_started = time.monotonic()
    slow: dict[str, Any] = {}
    thread = threading.Thread(target=lambda: slow.update(reply=httpx.get(f"{base}/core/kind/sync?sleep=4",
                                                                      timeout=20)))
    thread.start()
    time.sleep(0.5)
    fast_started = time.monotonic()
    fast = [httpx.get(f"{base}/core/kind/sync", timeout=10) for _ in range(5)]
    fast_seconds = time.monotonic() - fast_started
    thread.join()
    assert all(reply.status_code == 200 for reply in fast)
    assert slow["reply"].status_code == 200
    assert fast_seconds < 2.5, f"5 sync requests took {fast_seconds:.2f}s behind a stuck one"
    assert time.monotonic() - slow_started >= 4


# -- ATOMIC_REQUESTS -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_atomic_requests_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(connection.settings_dict, "ATOMIC_REQUESTS", True)
    client = Client()
    ok = client.post("/core/atomic", json.dumps({"key": "kept"}), content_type="application/json")
    failed = client.post("/core/atomic", json.dumps({"key": "gone", "fail": True}), content_type="application/json")
    assert ok.status_code == 201, ok.content
    assert failed.status_code == 500 and "traceId" in failed.json()
    assert set(state("core-atomic")) == {"kept"}
    assert set(Group.objects.filter(name__startswith="atomic-").values_list("name", flat=True)) == {"atomic-kept"}
    # the message enqueued by the failed request went down with its transaction
    assert not OutboxMessage.objects.filter(envelope__data__key="gone").exists()


@pytest.mark.slow
@pytest.mark.parametrize("kind", SERVERS)
def test_atomic_requests_on_a_real_server(kind: str, serve: Callable[..., str], start_worker: Worker) -> None:
    start_worker()
    base = serve(kind, MOTIA_TEST_ATOMIC_REQUESTS="1")
    with httpx.Client(base_url=base, timeout=10) as client:
        ok = client.post("/core/atomic", json={"key": f"{kind}-kept"})
        failed = client.post("/core/atomic", json={"key": f"{kind}-gone", "fail": True})
        other = client.get("/hello/atomic")  # an async step under ATOMIC_REQUESTS still serves
    assert ok.status_code == 201, ok.text
    assert failed.status_code == 500, failed.text
    assert other.status_code == 200, other.text
    assert set(state("core-atomic")) == {f"{kind}-kept"}
    assert not Group.objects.filter(name=f"atomic-{kind}-gone").exists()
    wait_until(lambda: f"{kind}-kept" in state("core-atomic-consumed"), 30, what="the committed message")
    time.sleep(1.0)
    assert f"{kind}-gone" not in state("core-atomic-consumed"), "a rolled-back request sent its message"


# -- timeouts stop the work ----------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_timed_out_handler_is_stopped_and_the_process_serves_on(kind: str, start_worker: Worker) -> None:
    start_worker(concurrency=1)  # one pool process: the fast messages must run where the slow one did
    topic = f"core.timeout.{kind}"
    messages = [{"topic": topic, "data": {"id": "slow", "sleep": 30}}]
    messages += [{"topic": topic, "data": {"id": f"fast-{n}"}} for n in range(20)]
    started = time.monotonic()
    reply = Client().post("/core/timeout", json.dumps({"messages": messages}), content_type="application/json")
    assert reply.status_code == 202
    wait_until(lambda: len(state("core-timeout")) == 20, 30, what="20 fast messages after the slow one")
    elapsed = time.monotonic() - started
    done = state("core-timeout")
    assert "slow" not in done
    assert len({value["pid"] for value in done.values()}) == 1
    wait_until(lambda: DeadLetter.objects.filter(step=f"core-timeout-{kind}").exists(), 10, what="the dead letter")
    letter = DeadLetter.objects.get(step=f"core-timeout-{kind}")
    assert letter.error_type == "HandlerTimeout" and letter.payload["id"] == "slow"
    # 1 s of timeout, then 20 quick messages: nowhere near the 30 s the slow handler asked for
    assert elapsed < 12, f"took {elapsed:.1f}s"
    fast_times = sorted(value["done"] for value in done.values())
    assert fast_times[-1] - fast_times[0] < 5, "the fast messages ran at full speed"


# -- the API in both kinds, and typed ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_module_level_enqueue_outside_any_execution_publishes_with_a_fresh_trace() -> None:
    from motia import enqueue
    from motia_django.queues.outbox import intercepted

    sent: list[tuple[list[str], dict[str, Any]]] = []
    with intercepted(lambda bindings, envelope, delay: sent.append(([b.key for b in bindings], envelope))):
        assert enqueue({"topic": "core.match", "data": {"key": "outside"}}) is None
        enqueue("core.match", {"key": "positional"})
    assert [envelope["data"] for _, envelope in sent] == [{"key": "outside"}, {"key": "positional"}]
    assert sent[0][0] == ["core-match#queue:core.match"]
    assert sent[0][1]["traceId"] != sent[1][1]["traceId"] and sent[0][1]["source"] is None
    from motia_django.queues.publisher import UnknownTopic

    with pytest.raises(UnknownTopic):
        enqueue({"topic": "nobody.listens", "data": {}})


@pytest.mark.django_db(transaction=True)
async def test_async_code_awaits_the_same_calls_and_their_typed_twins() -> None:
    from motia import Stream, stateManager

    pending = stateManager.set("core-twins", "a", {"n": 1})
    assert type(pending).__name__ == "Pending"  # in async code a plain call hands back an awaitable
    assert (await pending).new_value == {"n": 1}
    assert await stateManager.aget("core-twins", "a") == {"n": 1}
    assert (await stateManager.aupdate("core-twins", "a", [{"type": "increment", "path": "n"}])).new_value == {"n": 2}
    assert await stateManager.get("core-twins", "a") == {"n": 2}
    notes = Stream("core-twin-notes")
    await notes.aset("g", "x", {"ok": True})
    assert await notes.get_group("g") == [{"ok": True}]
    assert await notes.alist_groups() == ["g"]


def test_the_public_api_type_checks(tmp_path: Path) -> None:
    """``mypy --strict`` accepts steps written against it, and rejects a wrong use (so the check can fail)."""
    source = (Path(__file__).parent / "typed" / "typed_steps.py").read_text()
    good, bad = tmp_path / "typed_steps.py", tmp_path / "wrong_steps.py"
    good.write_text(source)
    bad.write_text(source + '\n\ncount: int = stateManager.set("typed", "n", 1)\n')
    config = str(Path(__file__).resolve().parent.parent / "setup.cfg")
    run = [sys.executable, "-m", "mypy", "--strict", "--config-file", config, "--no-incremental"]
    checked = subprocess.run([*run, str(good)], capture_output=True, text=True, timeout=300,
                             cwd=Path(__file__).resolve().parent.parent)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    rejected = subprocess.run([*run, str(bad)], capture_output=True, text=True, timeout=300,
                              cwd=Path(__file__).resolve().parent.parent)
    assert rejected.returncode == 1 and 'has type "SetResult"' in rejected.stdout, rejected.stdout
