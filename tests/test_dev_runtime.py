"""``manage.py motia_dev``: one command runs server, worker and beat on embedded defaults."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, Process, free_port, wait_until

pytestmark = pytest.mark.slow

HELLO = '''
from motia import http, step

hello = step({{"name": "greeter", "triggers": [http("GET", "/greet")]}},
             lambda req, ctx: {{"status": 200, "body": {{"greeting": "{word}"}}}})
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
        try:
            proc.popen.send_signal(signal.SIGINT)
            proc.popen.wait(30)
        finally:
            proc.stop()
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
        try:
            proc.popen.send_signal(signal.SIGINT)
            proc.popen.wait(30)
        finally:
            proc.stop()
    shutil.rmtree(tmp_path / "var", ignore_errors=True)
