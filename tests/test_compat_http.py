"""Motia 1.0 behaviour on HTTP and at start-up: 422 for a false condition, the condition's
``ApiRequest``, request bodies read as streams, ``.env``, and a project with a broken step file."""

from __future__ import annotations

import json
import os
import shutil
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client, override_settings

from motia_django.env import load_env

from .conftest import start_uvicorn, wait_until
from .test_discovery import _manage

HERE = Path(__file__).resolve().parent
CONDITION = "/compat-http/condition/{kind}/7?allow={allow}&tag=a&tag=b"
UPLOAD = bytes(range(32, 127)) * 2000  # 190,000 bytes: three whole chunks and a part


def _events(text: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The ``data:`` events of a server-sent event stream, and its final ``done`` event."""
    events: list[dict[str, Any]] = []
    done: dict[str, Any] = {}
    for block in text.split("\n\n"):
        lines = block.splitlines()
        if not lines:
            continue
        data = json.loads(lines[-1].removeprefix("data: "))
        if lines[0] == "event: done":
            done = data
        else:
            events.append(data)
    return events, done


def _assert_echoed(text: str, upload: bytes) -> None:
    events, done = _events(text)
    assert "".join(e["text"] for e in events).encode("latin-1") == upload
    assert [e["index"] for e in events] == list(range(len(events))) and len(events) > 1
    assert done == {"bytes": len(upload), "chunks": len(events), "whole_matches": True}


# -- view level (Django's test client, the WSGI handler) ------------------------------------------


@pytest.mark.django_db(transaction=True)
class TestConditions:
    @pytest.mark.parametrize("kind", ["sync", "async"])
    def test_a_false_condition_answers_422_as_motia_does(self, kind: str) -> None:
        response = Client().post(CONDITION.format(kind=kind, allow="no"), data={"n": 1},
                                 content_type="application/json")
        assert response.status_code == 422
        assert response.json() == {"error": "Request condition not met", "skipped": True,
                                   "traceId": response["X-Trace-Id"]}

    @override_settings(MOTIA={"STEPS_DIRS": [], "HTTP_CONDITION_FAILED_STATUS": 404})
    def test_the_status_is_a_setting(self) -> None:
        response = Client().post(CONDITION.format(kind="sync", allow="no"), data={}, content_type="application/json")
        assert response.status_code == 404
        assert response.json()["error"] == "Request condition not met"

    @pytest.mark.parametrize("kind", ["sync", "async"])
    def test_the_condition_gets_the_api_request_the_handler_reads(self, kind: str) -> None:
        response = Client().post(CONDITION.format(kind=kind, allow="yes"), data={"n": 1},
                                 content_type="application/json", headers={"X-Compat": "hi"})
        assert response.status_code == 200
        assert response.json() == {
            "condition_saw": {"is_api_request": True, "body": {"n": 1}, "path_params": {"item": "7"},
                              "query_params": {"allow": "yes", "tag": ["a", "b"]}, "header": "hi",
                              "method": "POST", "raw": '{"n": 1}'},
            "handler_body": {"n": 1},
        }


@pytest.mark.django_db(transaction=True)
def test_an_upload_streams_into_the_handler_under_wsgi() -> None:
    response = Client().post("/compat-http/echo-upload", data=UPLOAD, content_type="application/octet-stream")
    assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
    _assert_echoed(response.content.decode(), UPLOAD)


# -- a live ASGI server ---------------------------------------------------------------------------


@pytest.mark.slow
def test_condition_and_streamed_upload_through_uvicorn(live_asgi: str) -> None:
    refused = httpx.post(live_asgi + CONDITION.format(kind="async", allow="no"), json={"n": 2})
    assert refused.status_code == 422 and refused.json()["skipped"] is True
    accepted = httpx.post(live_asgi + CONDITION.format(kind="async", allow="yes"), json={"n": 2},
                          headers={"X-Compat": "live"})
    assert accepted.json()["condition_saw"]["is_api_request"] is True
    assert accepted.json()["condition_saw"]["header"] == "live"

    def chunked() -> Iterator[bytes]:  # no Content-Length: sent with Transfer-Encoding: chunked
        for start in range(0, len(UPLOAD), 10_000):
            yield UPLOAD[start:start + 10_000]

    with httpx.stream("POST", f"{live_asgi}/compat-http/echo-upload", content=chunked(), timeout=30,
                      headers={"Content-Type": "application/octet-stream"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        _assert_echoed(response.read().decode(), UPLOAD)


# -- .env -----------------------------------------------------------------------------------------


def test_load_env_leaves_real_variables_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("COMPAT_HTTP_ONLY_IN_FILE=file\nCOMPAT_HTTP_BOTH=file\n")
    monkeypatch.setenv("COMPAT_HTTP_BOTH", "real")
    monkeypatch.delenv("COMPAT_HTTP_ONLY_IN_FILE", raising=False)
    assert load_env(tmp_path) == tmp_path / ".env"
    assert os.environ["COMPAT_HTTP_ONLY_IN_FILE"] == "file" and os.environ["COMPAT_HTTP_BOTH"] == "real"
    monkeypatch.delenv("COMPAT_HTTP_ONLY_IN_FILE")
    assert load_env(tmp_path / "missing") is None


# -- a project with broken step files -------------------------------------------------------------

BROKEN_FILES = {
    "syntax_step.py": """\
        from motia import http, step

        def handler(input, ctx) return None
        """,
    "missing_import_step.py": """\
        from motia import http, step

        import compat_http_a_module_that_does_not_exist
        """,
    "invalid_config_step.py": """\
        from motia import http, step

        default = step({"name": "compat-http-invalid", "triggers": [http("FETCH", "/compat-http/invalid")]},
                       lambda input, ctx: None)
        """,
}
#: What each broken file is reported with: file and line, and why.
REPORTED = ["syntax_step.py:3", "SyntaxError", "missing_import_step.py:3",
            "No module named 'compat_http_a_module_that_does_not_exist'", "invalid_config_step.py:3", "FETCH"]


@pytest.fixture
def broken_project(tmp_path: Path) -> Path:
    """A project whose ``steps/`` hold good steps and three broken files, with a ``.env`` beside them."""
    project = tmp_path / "project"
    shutil.copytree(HERE / "compat_http_project", project, ignore=shutil.ignore_patterns("__pycache__"))
    for name, text in BROKEN_FILES.items():
        (project / "steps" / name).write_text(textwrap.dedent(text))
    (project / ".env").write_text("COMPAT_HTTP_GREETING=from-dotenv\nCOMPAT_HTTP_SHADOWED=from-dotenv\n")
    return project


def test_manage_py_runs_and_reports_the_broken_files(broken_project: Path) -> None:
    steps = broken_project / "steps"
    migrate = _manage("migrate", "--no-input", steps=steps)
    assert migrate.returncode == 0, migrate.stderr
    assert "Applying motia_django.0001_initial... OK" in migrate.stdout

    check = _manage("check", steps=steps)
    assert check.returncode == 0, check.stderr
    assert "motia.W002" in check.stderr
    assert all(needle in check.stderr for needle in REPORTED), check.stderr

    discover = _manage("motia_discover", "--no-sync", steps=steps)
    assert discover.returncode == 0, discover.stderr
    assert "compat-http-env-read" in discover.stdout and "4 step(s)" in discover.stdout
    assert all(needle in discover.stderr for needle in REPORTED), discover.stderr
    assert _manage("motia_discover", "--check", "--no-sync", steps=steps).returncode == 1


@pytest.mark.slow
def test_server_and_worker_serve_the_good_steps_with_the_projects_env(
    broken_project: Path, tmp_path: Path, start_worker: Any
) -> None:
    assert "COMPAT_HTTP_GREETING" not in os.environ  # only the project's .env has it
    env = {"MOTIA_TEST_PROJECT_DIR": str(broken_project), "COMPAT_HTTP_SHADOWED": "from-environment"}
    server, base = start_uvicorn(tmp_path / "uvicorn.log", **env)
    try:
        assert httpx.get(f"{base}/compat-http/env/COMPAT_HTTP_GREETING").json() == {"value": "from-dotenv"}
        assert httpx.get(f"{base}/compat-http/env/COMPAT_HTTP_SHADOWED").json() == {"value": "from-environment"}
        assert httpx.get(f"{base}/hello/Ann").json() == {"message": "Hello, Ann!"}
        assert httpx.get(f"{base}/compat-http/invalid").status_code == 404
        assert "step file not loaded" in server.output()
        assert all(needle in server.output() for needle in REPORTED), server.output()

        worker = start_worker("compat", **env)
        assert "step file not loaded: " in worker.output() and "syntax_step.py:3" in worker.output()
        assert httpx.post(f"{base}/compat-http/env/COMPAT_HTTP_GREETING/probe").status_code == 202
        seen = f"{base}/compat-http/env/COMPAT_HTTP_GREETING/seen"
        wait_until(lambda: httpx.get(seen).status_code == 200, 30, what="the worker's handler")
        assert httpx.get(seen).json() == {"seen": {"value": "from-dotenv"}}
    finally:
        server.stop()
