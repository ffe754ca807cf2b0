"""Step log lines through real processes: the project's ``LOGGING``, the fallback handler, Celery's ``--logfile``."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from .conftest import ROOT, Process, start_uvicorn, wait_until

Worker = Callable[..., Process]
LOGGING_STEPS = str(ROOT / "tests" / "logging_steps")

pytestmark = pytest.mark.timeout(180)


def _lines_with(text: str, marker: str) -> list[str]:
    return [line for line in text.splitlines() if marker in line]


def test_a_root_handler_in_logging_prints_each_step_record_once_as_json(transactional_db: None,
                                                                        tmp_path: Path) -> None:
    server, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=LOGGING_STEPS,
                                 DJANGO_SETTINGS_MODULE="tests.logging_settings")
    marker = uuid.uuid4().hex
    try:
        response = httpx.get(f"{base}/logx/say", params={"word": marker}, timeout=10)
        assert response.status_code == 200
        wait_until(lambda: _lines_with(server.output(), f"logx said {marker}"), 10, what="the step's log line")
    finally:
        server.stop()
    [line] = _lines_with(server.output(), f"logx said {marker}")
    record = json.loads(line)
    assert record["step"] == "logx-say" and record["traceId"] == response.headers["X-Trace-Id"]
    assert record["level"] == "info" and record["data"] == {"word": marker}
    assert record["executionId"] and record["logger"] == "motia.steps"


def test_without_logging_the_fallback_handler_prints_each_step_record_once(transactional_db: None,
                                                                           tmp_path: Path) -> None:
    server, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=LOGGING_STEPS)
    marker = uuid.uuid4().hex
    try:
        response = httpx.get(f"{base}/logx/say", params={"word": marker}, timeout=10)
        wait_until(lambda: _lines_with(server.output(), f"logx said {marker}"), 10, what="the step's log line")
    finally:
        server.stop()
    [line] = _lines_with(server.output(), f"logx said {marker}")
    assert f"[logx-say {response.headers['X-Trace-Id']}] logx said {marker}" in line


@pytest.mark.parametrize("log_format", ["plain", "json"])
def test_celery_logfile_receives_step_lines_with_their_trace_id(start_worker: Worker, tmp_path: Path,
                                                                log_format: str) -> None:
    logfile = tmp_path / "worker-file.log"
    env = {"MOTIA_TEST_EXTRA_STEPS": LOGGING_STEPS, "MOTIA_LOG_FORMAT": log_format}
    worker = start_worker("logx", options=["--logfile", str(logfile)], wait=False, **env)
    wait_until(lambda: logfile.exists() and " ready." in logfile.read_text(), 60, what="the worker to start")
    server, base = start_uvicorn(tmp_path / "uvicorn.log", **env)
    marker = uuid.uuid4().hex
    try:
        response = httpx.get(f"{base}/logx/say", params={"word": marker}, timeout=10)
        assert response.status_code == 200
        wait_until(lambda: _lines_with(logfile.read_text(), f"logx heard {marker}"), 30,
                   what="the queue step's line in the worker's log file")
    finally:
        server.stop()
    [line] = _lines_with(logfile.read_text(), f"logx heard {marker}")
    trace_id = response.headers["X-Trace-Id"]
    if log_format == "json":
        record = json.loads(line)
        assert (record["step"], record["traceId"]) == ("logx-hear", trace_id) and record["executionId"]
    else:
        assert f"[logx-hear {trace_id}] logx heard {marker}" in line
    assert marker not in worker.output()  # in the file, not also on the worker's stderr
