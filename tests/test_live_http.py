"""HTTP steps through real servers: uvicorn (ASGI) and Django's runserver (WSGI)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import Process, child_env, free_port

pytestmark = pytest.mark.slow


def test_streamed_chunks_arrive_as_they_are_written(live_asgi: str) -> None:
    arrivals: list[tuple[float, str]] = []
    start = time.monotonic()
    with httpx.stream("GET", f"{live_asgi}/stream?n=6", timeout=30) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/event-stream"
        for line in response.iter_lines():
            if line.startswith("data: "):
                arrivals.append((time.monotonic() - start, line))
    assert [json.loads(line[6:])["index"] for _, line in arrivals] == [0, 1, 2, 3, 4, 5]
    # the handler sleeps 0.3 s between chunks, so the last is written at least 1.5 s after the first:
    # chunks that arrive spread over half of that were not buffered until the end
    assert arrivals[-1][0] - arrivals[0][0] > 0.75, arrivals


def test_async_and_sync_handlers_under_asgi(live_asgi: str) -> None:
    assert httpx.get(f"{live_asgi}/hello/Bob").json() == {"message": "Hello, Bob!"}
    assert httpx.get(f"{live_asgi}/sync/users").json() == {"users": 0, "state": {"n": 1}}


def test_bad_inputs_over_asgi(live_asgi: str) -> None:
    assert httpx.post(f"{live_asgi}/todos", content=b"{oops", headers={"content-type": "application/json"}
                      ).status_code == 400
    assert httpx.get(f"{live_asgi}/missing").json() == {"error": "Not Found", "path": "/missing"}
    assert httpx.patch(f"{live_asgi}/todos").headers["allow"] == "GET, POST"
    huge = json.dumps({"title": "x" * 3_000_000}).encode()
    assert httpx.post(f"{live_asgi}/todos", content=huge, headers={"content-type": "application/json"}
                      ).status_code == 413


def test_chunked_upload_without_length_is_still_capped(live_asgi: str) -> None:
    def body() -> Iterator[bytes]:
        yield b'{"title": "'
        for _ in range(30):
            yield b"x" * 100_000
        yield b'"}'

    response = httpx.post(f"{live_asgi}/todos", content=body(), headers={"content-type": "application/json"})
    assert response.status_code == 413


@pytest.fixture
def live_wsgi(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    proc = Process([sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload", "--skip-checks"],
                   child_env(), tmp_path / "runserver.log")
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            httpx.get(f"{base}/hello/up", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    else:
        proc.stop()
        pytest.fail(f"runserver did not start:\n{proc.output()}")
    yield base
    proc.stop()


def test_async_and_sync_handlers_under_wsgi(live_wsgi: str) -> None:
    assert httpx.get(f"{live_wsgi}/hello/Wsgi").json() == {"message": "Hello, Wsgi!"}
    assert httpx.get(f"{live_wsgi}/sync/users").json() == {"users": 0, "state": {"n": 1}}
    streamed = httpx.get(f"{live_wsgi}/stream?n=2")
    assert streamed.text.count("data: ") == 2
