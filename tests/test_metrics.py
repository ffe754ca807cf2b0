"""The Prometheus endpoint after real HTTP requests and real worker executions, one process and many."""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from django.conf import settings
from django.test import Client, override_settings
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from .conftest import ROOT, Process, child_env, free_port, serve_http, start_uvicorn, wait_until

Worker = Callable[..., Process]
OPS_STEPS = str(ROOT / "tests" / "ops_steps")

pytestmark = pytest.mark.timeout(180)


def scrape(base: str, **headers: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of one scrape, by name and labels."""
    response = httpx.get(f"{base}/metrics", headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(response.text) for sample in family.samples}


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_http_requests_and_worker_executions_reach_one_scrape(start_worker: Worker, tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(shared), "MOTIA_TEST_EXTRA_STEPS": OPS_STEPS}
    start_worker("m1", **env)
    server, base = start_uvicorn(tmp_path / "uvicorn.log", **env)
    try:
        started = scrape(base)  # the server was probed once on /hello/up before it counted as started
        for _ in range(3):
            assert httpx.get(f"{base}/hello/metrics", timeout=5).status_code == 200
        published = httpx.post(f"{base}/ops/publish", json={"ops.work": 4, "ops.fail": 1, "ops.fifo": 2}, timeout=10)
        assert published.status_code == 202

        def settled() -> bool:
            samples = scrape(base)
            return (value(samples, "motia_executions_total", step="ops-work", trigger="queue", outcome="succeeded") == 4
                    and value(samples, "motia_dead_letters_total", step="ops-fail") == 1
                    and value(samples, "motia_executions_total", step="ops-fifo", trigger="queue",
                              outcome="succeeded") == 2)

        wait_until(settled, 60, interval=0.5, what="the worker's executions in a scrape")
        samples = scrape(base)
    finally:
        server.stop()
    hello = {"route": "/hello/:name", "method": "GET"}
    assert (value(samples, "motia_http_requests_total", status="200", **hello)
            - value(started, "motia_http_requests_total", status="200", **hello)) == 3
    assert (value(samples, "motia_http_request_duration_seconds_count", **hello)
            - value(started, "motia_http_request_duration_seconds_count", **hello)) == 3
    assert value(samples, "motia_http_requests_total", route="/ops/publish", method="POST", status="202") == 1
    assert value(samples, "motia_executions_total", step="ops-fail", trigger="queue", outcome="failed") == 1
    assert value(samples, "motia_executions_total", step="ops-fail", trigger="queue", outcome="dead") == 1
    assert value(samples, "motia_retries_total", step="ops-fail", trigger="queue") == 1
    assert value(samples, "motia_execution_duration_seconds_count", step="ops-work", trigger="queue") == 4
    assert value(samples, "motia_fifo_lag_seconds_count", step="ops-fifo") == 2
    assert value(samples, "motia_scrape_source_up", source="broker") == 1
    assert value(samples, "motia_scrape_source_up", source="database") == 1
    assert value(samples, "motia_queue_depth", queue="motia.ops.work") == 0
    assert ("motia_queue_depth", (("queue", "motia.ops.fail"),)) in samples
    assert value(samples, "motia_dead_letters_stored") == 1
    assert value(samples, "motia_outbox_backlog") == 0


def test_queue_depth_counts_messages_no_worker_took(transactional_db: None, broker_url: str, tmp_path: Path) -> None:
    server, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_TEST_EXTRA_STEPS=OPS_STEPS)
    try:
        assert httpx.post(f"{base}/ops/publish", json={"ops.work": 5}, timeout=10).status_code == 202
        samples = scrape(base)
    finally:
        server.stop()
    assert value(samples, "motia_queue_depth", queue="motia.ops.work") == 5
    assert value(samples, "motia_executions_total", step="ops-publisher", trigger="http", outcome="succeeded") == 1


def test_the_scrape_survives_a_lost_broker(transactional_db: None, tmp_path: Path) -> None:
    closed = f"redis://127.0.0.1:{free_port()}/0"
    server, base = start_uvicorn(tmp_path / "uvicorn.log", CELERY_BROKER_URL=closed)
    try:
        samples = scrape(base)
    finally:
        server.stop()
    assert value(samples, "motia_scrape_source_up", source="broker") == 0
    assert value(samples, "motia_scrape_source_up", source="database") == 1
    assert not any(name == "motia_queue_depth" for name, _ in samples)


def test_gunicorn_workers_are_summed_at_one_scrape(transactional_db: None, broker_url: str, tmp_path: Path) -> None:
    shared = tmp_path / "prometheus"
    shared.mkdir()
    port = free_port()
    args = [sys.executable, "-m", "gunicorn", "project.wsgi:application", "--workers", "2", "--bind",
            f"127.0.0.1:{port}", "--log-level", "warning"]
    server, base = serve_http(args, port, tmp_path / "gunicorn.log",
                              child_env(PROMETHEUS_MULTIPROC_DIR=str(shared), MOTIA_TEST_EXTRA_STEPS=OPS_STEPS),
                              "gunicorn")
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:  # each slow request holds a sync worker: both serve
            answers = list(pool.map(lambda _: httpx.get(f"{base}/ops/slow", timeout=30).status_code, range(8)))
        assert answers == [200] * 8
        samples = scrape(base)
    finally:
        server.stop()
    assert value(samples, "motia_http_requests_total", route="/ops/slow", method="GET", status="200") == 8
    writers = {path.name.rsplit("_", 1)[-1] for path in shared.glob("counter_*.db")}
    assert len(writers) >= 2, writers  # the 8 came from more than one process


def test_the_endpoint_refuses_strangers_and_lets_a_token_in(db: None) -> None:
    client = Client()
    assert client.get("/metrics").status_code == 200  # the test client's address is loopback
    elsewhere = {**settings.MOTIA, "METRICS_ALLOWED_IPS": ["10.0.0.0/8"], "METRICS_TOKEN": "s3cret"}
    with override_settings(MOTIA=elsewhere):
        refused = client.get("/metrics")
        assert (refused.status_code, refused.content) == (403, b"")
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200
        assert client.get("/metrics", REMOTE_ADDR="10.1.2.3").status_code == 200


def _hello_count() -> float:
    found = REGISTRY.get_sample_value("motia_http_requests_total",
                                      {"route": "/hello/:name", "method": "GET", "status": "200"})
    return found or 0.0


@pytest.mark.parametrize(("enabled", "counted"), [(True, 1.0), (False, 0.0)])
def test_metrics_off_counts_nothing(db: None, enabled: bool, counted: float) -> None:
    before = _hello_count()
    with override_settings(MOTIA={**settings.MOTIA, "METRICS": enabled}):
        assert Client().get("/hello/off").status_code == 200
    assert _hello_count() - before == counted


