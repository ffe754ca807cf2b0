"""HTTP steps through real servers: uvicorn (ASGI) and Django's runserver (WSGI)."""

from __future__ import annotations

import json
import math
import socket
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from motia_django.models import Execution

from .conftest import Process, child_env, free_port, start_uvicorn, stream_progress, trace_of, traceparent, wait_until

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


# -- a streamed response whose client goes away, or reads slowly ------------------------------------


class SlowClient:
    """A GET read at the test's own pace over a plain socket, with a small receive buffer.

    Counts the body's bytes as they arrive, undoing the chunked transfer encoding.
    """

    def __init__(self, base: str, path: str, trace_id: str, receive_buffer: int = 16384) -> None:
        url = urlsplit(base)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        self.sock.settimeout(10)
        self.sock.connect((url.hostname, url.port))
        head = f"GET {path} HTTP/1.1\r\nHost: {url.netloc}\r\ntraceparent: {traceparent(trace_id)}\r\n\r\n"
        self.sock.sendall(head.encode())
        self.pending = b""
        while b"\r\n\r\n" not in self.pending:
            self.pending += self.sock.recv(4096)
        head, self.pending = self.pending.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 200"), head
        assert b"transfer-encoding: chunked" in head.lower(), head
        self.left_in_chunk = 0
        self.chunk_ended = False
        self.received = 0
        self.finished = False

    @property
    def receive_buffer(self) -> int:
        return int(self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF))

    def read(self, at_least: int) -> None:
        """Read until ``at_least`` more body bytes have arrived (or the body ended)."""
        goal = self.received + at_least
        while self.received < goal and not self.finished:
            if not self._decode():
                data = self.sock.recv(65536)
                assert data, "the server closed the connection"
                self.pending += data

    def _decode(self) -> bool:
        """Take what ``pending`` holds of the body; False when more bytes are needed."""
        if self.left_in_chunk:
            taken = self.pending[: self.left_in_chunk]
            self.pending = self.pending[len(taken):]
            self.left_in_chunk -= len(taken)
            self.received += len(taken)
            self.chunk_ended = not self.left_in_chunk
            return bool(taken)
        if self.chunk_ended:
            if len(self.pending) < 2:
                return False
            self.pending, self.chunk_ended = self.pending[2:], False
        line, sep, rest = self.pending.partition(b"\r\n")
        if not sep:
            return False
        size = int(line.split(b";")[0], 16)
        self.pending, self.left_in_chunk, self.finished = rest, size, size == 0
        return True

    def close(self) -> None:
        self.sock.close()


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_client_that_goes_away_stops_the_streaming_handler(kind: str, live_asgi: str) -> None:
    job = f"gone-{kind}-{uuid.uuid4().hex[:8]}"
    client = SlowClient(live_asgi, f"/core/stream/{kind}?id={job}&size=100&pause=0.02", job)
    client.read(5 * 100)
    client.close()
    wait_until(lambda: stream_progress(job)["ended"] is not None, 2, what=f"the {kind} handler to stop")
    stopped = stream_progress(job)
    # an async handler is cancelled; a sync one (in a thread) has its next write raise
    assert stopped["ended"] == ("cancelled" if kind == "async" else "ClientDisconnected"), stopped
    time.sleep(0.3)
    assert stream_progress(job)["written"] == stopped["written"]
    wait_until(lambda: Execution.objects.filter(trace_id=trace_of(job)).exists(), 10, what="the execution record")
    [execution] = Execution.objects.filter(trace_id=trace_of(job))
    assert execution.status == Execution.Status.FAILED
    assert execution.error.startswith("ClientDisconnected: "), execution.error


STREAM_BUFFER = 4


@pytest.fixture
def live_asgi_small_buffer(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    """A live ASGI server that queues at most ``STREAM_BUFFER`` chunks of a streamed response."""
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_HTTP_STREAM_BUFFER=str(STREAM_BUFFER))
    yield base
    proc.stop()


def _send_buffer_max() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 4 * 1024 * 1024


@pytest.mark.parametrize("kind", ["async", "sync"])
def test_a_fast_writer_waits_for_a_slow_reader(kind: str, live_asgi_small_buffer: str) -> None:
    size, limit = 65536, 400
    job = f"slow-{kind}-{uuid.uuid4().hex[:8]}"
    client = SlowClient(live_asgi_small_buffer, f"/core/stream/{kind}?id={job}&size={size}&limit={limit}", job)
    # what may sit between the handler and this test besides the queue: the sockets' buffers,
    # uvicorn's write buffer, the chunk being sent, and the one the writer is adding
    in_flight = _send_buffer_max() + client.receive_buffer + 2 * 65536
    allowed = STREAM_BUFFER + math.ceil(in_flight / size) + 2
    try:
        client.read(3 * size)
        time.sleep(1)  # not reading: the writer must come to a stop
        stalled = stream_progress(job)
        time.sleep(0.5)
        assert stream_progress(job)["written"] == stalled["written"], "the writer went on while nobody read"
        assert stalled["ended"] is None and stalled["written"] < limit, stalled
        assert stalled["written"] - client.received // size <= allowed, (stalled, client.received, allowed)
        ahead = 0
        while not client.finished:
            client.read(size)
            ahead = max(ahead, stream_progress(job)["written"] - client.received // size)
            time.sleep(0.002)
        assert ahead <= allowed, (ahead, allowed)
        assert client.received == size * limit
        wait_until(lambda: stream_progress(job)["ended"] == "done", 5, what="the handler to finish")
    finally:
        client.close()


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
