"""``manage.py motia_dev``: one command runs server, worker and beat on embedded defaults."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, Process, free_port, interrupt, wait_until

pytestmark = pytest.mark.slow

HELLO = '''
from motia import http, step

hello = step({{"name": "greeter", "triggers": [http("GET", "/greet")]}},
             lambda req, ctx: {{"status": 200, "body": {{"greeting": "{word}"}}}})
'''

BURST = '''
from motia import http, queue, step


async def send(req, ctx):
    await ctx.enqueue({"topic": "burst.hit", "data": {"n": req.body["n"]}})
    return {"status": 202, "body": {}}


async def record(data, ctx):
    await ctx.state.update("burst", str(data["n"]), [{"type": "increment", "path": "runs"}])


async def count(req, ctx):
    entries = await ctx.state.list("burst")
    return {"status": 200, "body": {"messages": len(entries), "runs": sum(e["runs"] for e in entries)}}


sender = step({"name": "burst-sender", "triggers": [http("POST", "/burst")], "enqueues": ["burst.hit"]}, send)
recorder = step({"name": "burst-recorder", "triggers": [queue("burst.hit")]}, record)
counter = step({"name": "burst-counter", "triggers": [http("GET", "/burst")]}, count)
'''


RELAY = '''
from motia import http, queue, step


def send(req, ctx):
    ctx.enqueue({"topic": "devx.note", "data": {"word": req.body["word"]}})
    return {"status": 202, "body": {}}


def note(data, ctx):
    ctx.logger.info(f"devx noted {data['word']}")


sender = step({"name": "devx-send", "triggers": [http("POST", "/devx/note")], "enqueues": ["devx.note"]}, send)
noter = step({"name": "devx-note", "triggers": [queue("devx.note")]}, note)
'''


def _env(tmp_path: Path, steps: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if key not in ("DATABASE_URL", "TEST_DATABASE_URL", "CELERY_BROKER_URL", "MOTIA_TEST_RUN")}
    return {**env, "DJANGO_SETTINGS_MODULE": "project.settings", "MOTIA_VAR_DIR": str(tmp_path / "var"),
            "MOTIA_STEPS_DIR": str(steps), "PYTHONUNBUFFERED": "1"}


def _start(tmp_path: Path, steps: Path, *extra: str) -> tuple[Process, str]:
    env = _env(tmp_path, steps)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True, timeout=120)
    port = free_port()
    proc = Process([sys.executable, "manage.py", "motia_dev", "--port", str(port), *extra], env,
                   tmp_path / "dev.log")
    return proc, f"http://127.0.0.1:{port}"


def _worker_ready(tmp_path: Path) -> bool:
    """The worker writes its own lines (``ready.``) to its log file, not to the terminal."""
    log = tmp_path / "var" / "log" / "worker.log"
    return log.exists() and " ready." in log.read_text()


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=10)
    except httpx.HTTPError:
        return None


def test_example_flow_completes_on_embedded_defaults(tmp_path: Path) -> None:
    proc, base = _start(tmp_path, ROOT / "steps")
    try:
        wait_until(lambda: _get(f"{base}/hello/dev") is not None, 60, what="the dev server")
        assert "admin" in proc.output() and "/orders" in proc.output()
        order = httpx.post(f"{base}/orders", json={"item": "gadget", "quantity": 2}, timeout=30).json()
        wait_until(lambda: (_get(f"{base}/orders/{order['id']}") or httpx.Response(500, json={})).json().get("status")
                   == "completed", 60, interval=0.3, what="the order to go through both queue steps")
    finally:
        interrupt(proc)
    assert "motia-django stopped" in proc.output()


def test_step_changes_are_reloaded(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "greet_step.py").write_text(HELLO.format(word="hello"))
    proc, base = _start(tmp_path, steps, "--no-beat")
    try:
        wait_until(lambda: (_get(f"{base}/greet") or httpx.Response(500)).status_code == 200, 60,
                   what="the dev server")
        assert httpx.get(f"{base}/greet", timeout=30).json() == {"greeting": "hello"}
        (steps / "greet_step.py").write_text(HELLO.format(word="bonjour"))
        wait_until(lambda: (_get(f"{base}/greet") or httpx.Response(500, json={})).json()
                   == {"greeting": "bonjour"}, 60, interval=0.3, what="the changed step to be served")
        assert "step files changed" in proc.output()
    finally:
        interrupt(proc)
    shutil.rmtree(tmp_path / "var", ignore_errors=True)


def _children(pid: int) -> list[tuple[int, str]]:
    """The processes ``pid`` started, with their command lines."""
    pids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [(int(child), Path(f"/proc/{child}/cmdline").read_bytes().replace(b"\0", b" ").decode())
            for child in pids]


def test_a_child_that_dies_stops_the_runtime_and_says_which(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "greet_step.py").write_text(HELLO.format(word="hello"))
    proc, base = _start(tmp_path, steps, "--no-beat", "--no-reload")
    try:
        wait_until(lambda: _worker_ready(tmp_path) and _get(f"{base}/greet") is not None, 60,
                   what="the dev server and worker")
        [server] = [pid for pid, args in _children(proc.pid) if " uvicorn " in args]
        os.kill(server, signal.SIGKILL)
        proc.popen.wait(30)
    finally:
        proc.stop()
    assert proc.popen.returncode == 1
    assert "server was killed by SIGKILL; stopping the others" in proc.output()
    assert "CommandError: server was killed by SIGKILL, so motia_dev stopped" in proc.output()


def test_the_summary_then_step_logs_and_no_celery_banners(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "devx_step.py").write_text(RELAY)
    proc, base = _start(tmp_path, steps, "--no-reload")
    try:
        wait_until(lambda: _worker_ready(tmp_path) and _get(f"{base}/admin/motia/") is not None, 60,
                   what="the dev server and worker")
        assert httpx.post(f"{base}/devx/note", json={"word": "first"}, timeout=10).status_code == 202
        wait_until(lambda: "devx noted first" in proc.output(), 30, what="the step's log line in the terminal")
        workbench = httpx.get(f"{base}/admin/motia/", timeout=10)
    finally:
        proc.stop()
    output = proc.output()
    assert f"app       {base}/" in output and f"workbench {base}/admin/motia/" in output
    assert "STEP" in output and "devx-note" in output and "queue devx.note" in output
    log_dir = tmp_path / "var" / "log"
    assert f"worker log: {log_dir / 'worker.log'}" in output and f"beat log: {log_dir / 'beat.log'}" in output
    assert "[devx-note " in output  # the step's line, with its step and trace id
    for banner in ("-------------- ", "[config]", "[queues]", "celery beat v", "Received task", "succeeded in"):
        assert banner not in output, banner
    assert "devx-note[" in (log_dir / "worker.log").read_text()  # Celery's own task lines went to the file
    assert workbench.status_code == 200 and "motia-dev" in workbench.text  # no superuser was created first


def test_a_worker_that_dies_is_started_again_while_the_server_serves(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "devx_step.py").write_text(RELAY)
    proc, base = _start(tmp_path, steps, "--no-beat", "--no-reload")
    try:
        wait_until(lambda: _worker_ready(tmp_path) and _get(f"{base}/devx/note") is not None, 60,
                   what="the dev server and worker")
        [worker] = [pid for pid, args in _children(proc.pid) if " worker " in args]
        os.kill(worker, signal.SIGKILL)
        wait_until(lambda: "worker was killed by SIGKILL; starting it again in 1s" in proc.output(), 30,
                   what="motia_dev to notice the dead worker")
        assert httpx.post(f"{base}/devx/note", json={"word": "after"}, timeout=10).status_code == 202
        wait_until(lambda: "devx noted after" in proc.output(), 90, interval=0.3,
                   what="the message sent after the worker died to be handled by its successor")
        assert proc.popen.poll() is None
        assert [pid for pid, args in _children(proc.pid) if " worker " in args] != [worker]
    finally:
        proc.stop()
    assert "worker started again" in proc.output()


def test_a_burst_of_enqueues_is_all_handled(tmp_path: Path) -> None:
    """Every message of a burst is handled once, and the worker and with it the runtime stay up.

    Many messages are written to the embedded filesystem broker while the worker reads it: the
    worker must never read a message before it is fully written.
    """
    total = 2000
    steps = tmp_path / "steps"
    steps.mkdir()
    (steps / "burst_step.py").write_text(BURST)
    proc, base = _start(tmp_path, steps, "--no-beat", "--no-reload")
    try:
        wait_until(lambda: _worker_ready(tmp_path) and _get(f"{base}/burst") is not None, 60,
                   what="the dev server and worker")
        with httpx.Client(base_url=base, timeout=30, limits=httpx.Limits(max_connections=32)) as client:

            def send(n: int) -> int:
                try:
                    return client.post("/burst", json={"n": n}).status_code
                except httpx.HTTPError:
                    return 0

            with ThreadPoolExecutor(32) as pool:
                statuses = list(pool.map(send, range(total)))
        accepted = statuses.count(202)
        counts: dict[str, int] = {}
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and proc.popen.poll() is None:
            counts = (_get(f"{base}/burst") or httpx.Response(500, json={})).json()
            if counts.get("messages") == total:
                break
            time.sleep(0.5)
        assert proc.popen.poll() is None, f"motia_dev exited: {accepted} accepted, {counts}:\n{proc.tail()}"
        assert "Traceback" not in proc.output(), proc.tail(80)
        assert (accepted, counts) == (total, {"messages": total, "runs": total}), proc.tail()
        assert (_get(f"{base}/burst") or httpx.Response(500)).status_code == 200
    finally:
        proc.stop()


@pytest.mark.django_db
@pytest.mark.parametrize(("debug", "address", "host", "headers", "signed_in"), [
    (True, "127.0.0.1", "127.0.0.1:3111", {}, True),
    (True, "::1", "localhost:3111", {}, True),
    (False, "127.0.0.1", "127.0.0.1:3111", {}, False),
    (True, "10.1.2.3", "127.0.0.1:3111", {}, False),
    (True, "127.0.0.1", "testserver", {}, False),
    (True, "127.0.0.1", "127.0.0.1:3111", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, False),
])
def test_the_workbench_signs_in_a_dev_user_only_for_a_local_debug_server(
        debug: bool, address: str, host: str, headers: dict[str, str], signed_in: bool) -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client, override_settings

    with override_settings(DEBUG=debug, ALLOWED_HOSTS=["*"]):
        response = Client(REMOTE_ADDR=address).get("/admin/motia/", HTTP_HOST=host, **headers)
        again = Client(REMOTE_ADDR=address).get("/admin/motia/flows/", HTTP_HOST=host, **headers)
    users = get_user_model().objects.filter(username="motia-dev")
    if signed_in:
        assert (response.status_code, again.status_code) == (200, 200)
        [user] = users
        assert user.is_staff and not user.has_usable_password()
    else:
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
        assert not users.exists()


@pytest.mark.django_db
def test_the_dev_login_can_be_turned_off() -> None:
    from django.test import Client, override_settings

    with override_settings(DEBUG=True, ALLOWED_HOSTS=["*"], MOTIA={"DEV_LOGIN": False}):
        response = Client(REMOTE_ADDR="127.0.0.1").get("/admin/motia/", HTTP_HOST="127.0.0.1:3111")
    assert response.status_code == 302
