"""HTTP triggers through Django's test client (ASGI handler and WSGI handler)."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler
from django.test import AsyncClient, Client, override_settings

from motia_django.models import Execution
from motia_django.tracing.recorder import flush

from .conftest import stream_progress, trace_of, traceparent

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def client() -> Client:
    return Client()


def test_hello_from_the_quick_start(client: Client) -> None:
    response = client.get("/hello/Alice")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, Alice!"}
    assert response["Content-Type"] == "application/json"


def test_handler_sees_both_spellings_of_the_request(client: Client) -> None:
    response = client.post(
        "/echo/one/two?x=1&tag=a&tag=b",
        data=json.dumps({"k": "v"}),
        content_type="application/json",
        headers={"X-Custom": "hdr"},
    )
    assert response.status_code == 200
    seen = response.json()
    assert seen["body"] == {"k": "v"} and seen["same_body"] is True
    assert seen["data"] == {"k": "v"}
    assert seen["path_params"] == {"a": "one", "b": "two"}
    assert seen["query_params"] == {"x": "1", "tag": ["a", "b"]}
    assert seen["header"] == "hdr" and seen["header_lower"] == "hdr"
    assert seen["method"] == "POST"
    assert seen["trigger"] == {"type": "http", "method": "POST", "path": "/echo/:a/{b}", "index": 0,
                               "is_api": True, "equals_api": True}
    assert response["X-Echo"] == "yes"
    assert response["X-Trace-Id"] == seen["trace_id"]


def test_non_json_bodies_stay_raw(client: Client) -> None:
    response = client.put("/echo/a/b", data=b"<xml/>", content_type="application/xml")
    assert response.json()["body"] == "<xml/>"
    assert response.json()["data"] == "raw"


def test_empty_body_is_none(client: Client) -> None:
    assert client.get("/echo/a/b").json()["body"] is None


def test_trace_id_comes_from_traceparent_or_a_trusted_x_trace_id(client: Client, settings: Any) -> None:
    parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert client.get("/echo/a/b", headers={"traceparent": parent}).json()["trace_id"] == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert client.get("/echo/a/b", headers={"X-Trace-Id": "abc-123"}).json()["trace_id"] != "abc-123"
    settings.MOTIA = {**settings.MOTIA, "TRUST_TRACE_HEADER": True}
    assert client.get("/echo/a/b", headers={"X-Trace-Id": "abc-123"}).json()["trace_id"] == "abc-123"
    first, second = client.get("/echo/a/b").json()["trace_id"], client.get("/echo/a/b").json()["trace_id"]
    assert first != second


@pytest.mark.parametrize(
    ("kind", "status", "body", "content_type"),
    [
        ("dict", 201, b'{"ok":true}', "application/json"),
        ("list", 200, b"[1,2,3]", "application/json"),
        ("string", 200, b'"plain"', "application/json"),
        ("text", 200, b"hello text", "text/plain"),
        ("empty", 204, b"", None),
        ("teapot", 418, b'{"error":"short and stout"}', "application/json"),
    ],
)
def test_response_shapes_pass_through(client: Client, kind: str, status: int, body: bytes, content_type: str) -> None:
    response = client.get(f"/responses/{kind}")
    assert response.status_code == status
    assert response.content == body
    if content_type:
        assert response["Content-Type"].startswith(content_type)


def test_dict_response_headers_are_sent(client: Client) -> None:
    assert client.get("/responses/dict")["X-Kind"] == "dict"


def test_malformed_json_is_400(client: Client) -> None:
    response = client.post("/echo/a/b", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "Malformed JSON body"
    assert "traceId" in response.json()


@pytest.mark.parametrize(
    "body", ["[" * 5000 + "]" * 5000, '{"title": 1' + "0" * 5000 + "}", b"\xff\xfe", '{"title": "a\\ud800b"}']
)
def test_json_the_parser_refuses_is_400_not_500(client: Client, body: str | bytes) -> None:
    response = client.post("/todos", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "Malformed JSON body"


def test_json_nested_to_the_limit_is_served_and_one_level_more_is_400(client: Client) -> None:
    """The same limit on every Python: 3.13's parser would accept ten times deeper than 3.11's."""
    from motia_django.http.request import MAX_JSON_DEPTH

    at_limit = "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH
    served = client.post("/echo/a/b", data=at_limit, content_type="application/json")
    assert served.status_code == 200 and served.json()["body"] == json.loads(at_limit)
    deeper = "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1)
    refused = client.post("/echo/a/b", data=deeper, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["error"] == "Malformed JSON body"
    wide = json.dumps([[i] for i in range(5000)])
    assert client.post("/echo/a/b", data=wide, content_type="application/json").status_code == 200


def test_body_schema_violation_is_400_and_handler_does_not_run(client: Client) -> None:
    from motia_django.models import StreamItem

    response = client.post("/todos", data=json.dumps({"title": ""}), content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "title"
    assert not StreamItem.objects.exists()


def test_pydantic_body_schema(client: Client) -> None:
    response = client.post("/orders", data=json.dumps({"item": "widget", "quantity": 0}),
                           content_type="application/json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "quantity"


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_oversized_body_is_413(client: Client) -> None:
    response = client.post("/echo/a/b", data=json.dumps({"x": "y" * 500}), content_type="application/json")
    assert response.status_code == 413


def test_unknown_path_is_json_404(client: Client) -> None:
    response = client.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found", "path": "/no/such/route"}


def test_append_slash_still_redirects_to_admin(client: Client) -> None:
    response = client.get("/admin")
    assert response.status_code == 301 and response["Location"] == "/admin/"


def test_wrong_method_is_405_with_allow(client: Client) -> None:
    response = client.delete("/echo/a/b")
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, PUT"


def test_handler_exception_is_500_with_trace_id_and_no_internals(client: Client, caplog) -> None:
    response = client.get("/responses/boom")
    assert response.status_code == 500
    payload = response.json()
    assert payload["error"] == "Internal Server Error"
    assert payload["traceId"] == response["X-Trace-Id"]
    assert "secret" not in response.content.decode()
    logged = [r for r in caplog.records if r.name == "motia.steps" and r.levelname == "ERROR"]
    assert logged and logged[0].exc_info is not None
    assert logged[0].motia_trace_id == payload["traceId"]


@override_settings(MOTIA={"STEPS_DIRS": [], "EXPOSE_ERRORS": True})
def test_exception_text_only_when_exposed(client: Client) -> None:
    assert "secret internal detail" in client.get("/responses/boom").json()["detail"]


def test_handler_returning_nothing_is_500(client: Client) -> None:
    assert client.get("/responses/nothing").status_code == 500


def test_response_schema_mismatch_is_logged(client: Client, caplog) -> None:
    response = client.get("/responses/badschema")
    assert response.status_code == 200
    assert any("response_schema" in r.getMessage() for r in caplog.records)


@override_settings(MOTIA={"STEPS_DIRS": [], "STRICT_RESPONSE_SCHEMA": True})
def test_response_schema_mismatch_fails_when_strict(client: Client) -> None:
    assert client.get("/responses/badschema").status_code == 500
    assert client.get("/responses/ok").status_code == 200


def test_middleware_short_circuits(client: Client) -> None:
    response = client.get("/protected")
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized"}
    assert response["X-Global-Middleware"] == "1"


def test_middleware_then_condition_then_handler(client: Client) -> None:
    ok = client.get("/protected", headers={"Authorization": "Bearer ann", "X-Verified": "true"})
    assert ok.status_code == 200
    assert ok.json() == {"message": "Hello, ann"}
    assert ok["X-Middleware"] == "auth" and ok["X-Global-Middleware"] == "1"


def test_condition_false_is_422(client: Client) -> None:
    response = client.get("/protected", headers={"Authorization": "Bearer ann"})
    assert response.status_code == 422
    assert response.json()["error"] == "Request condition not met"


def test_sync_handler_uses_orm_and_state(client: Client) -> None:
    from django.contrib.auth.models import User

    User.objects.create(username="u1")
    response = client.get("/sync/users")
    assert response.json() == {"users": 1, "state": {"n": 1}}


def test_multi_trigger_step_dispatches_http(client: Client) -> None:
    response = client.post("/multi", data=json.dumps({"a": 1}), content_type="application/json")
    assert response.json() == {"via": "http", "body": {"a": 1}}


def test_enqueue_to_undeclared_topic_is_a_clear_500(client: Client, caplog) -> None:
    response = client.post("/ping", data=json.dumps({"how": "undeclared"}), content_type="application/json")
    assert response.status_code == 500
    assert any("may not enqueue to 'not.declared'" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_enqueue_non_json_payload_fails_at_enqueue(client: Client, caplog) -> None:
    response = client.post("/ping", data=json.dumps({"how": "not-json"}), content_type="application/json")
    assert response.status_code == 500
    assert any("not JSON-serialisable" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


@pytest.mark.parametrize("how", ["enqueue", "emit", "module"])
def test_every_enqueue_style_is_accepted(client: Client, how: str) -> None:
    response = client.post("/ping", data=json.dumps({"how": how}), content_type="application/json")
    assert response.status_code == 202


async def test_async_client_under_asgi_handler() -> None:
    response = await AsyncClient().get("/hello/async")
    assert response.status_code == 200
    assert response.json() == {"message": "Hello, async!"}


def test_streaming_response_is_buffered_under_wsgi(client: Client) -> None:
    response = client.get("/stream?n=2")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response.content.count(b"data: ") == 2


async def _stream_progress_until(job: str, ended: str, timeout: float = 2) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while stream_progress(job)["ended"] is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    found = stream_progress(job)
    assert found["ended"] == ended, found
    return found


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_streamed_response_queues_at_most_its_buffer(kind: str, settings: Any) -> None:
    settings.MOTIA = {**settings.MOTIA, "HTTP_STREAM_BUFFER": 3}
    job = f"buffer-{kind}-{uuid.uuid4().hex[:8]}"
    response = await AsyncClient().get(f"/core/stream/{kind}?id={job}&size=10&limit=30")
    assert response.streaming
    received = ahead = 0
    async for chunk in response.streaming_content:
        assert chunk == b"x" * 10
        received += 1
        await asyncio.sleep(0.01)
        ahead = max(ahead, stream_progress(job)["written"] - received)
    assert received == 30
    assert 1 <= ahead <= 3
    await _stream_progress_until(job, "done")


async def _asgi_get(path: str, trace_id: str, *, leave_after_chunks: int = 0, leave_after: float = 0) -> int:
    """GET ``path`` through Django's ASGI handler as a client that disconnects once it has
    ``leave_after_chunks`` body chunks, or after ``leave_after`` seconds; returns the chunks it got."""
    gone = asyncio.Event()
    received = 0
    requested = False
    if leave_after:
        asyncio.get_running_loop().call_later(leave_after, gone.set)

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal received
        if message["type"] == "http.response.body" and message.get("body"):
            received += 1
            if received == leave_after_chunks:
                gone.set()

    path, _, query = path.partition("?")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": query.encode(), "root_path": "",
             "headers": [(b"host", b"testserver"), (b"traceparent", traceparent(trace_id).encode())],
             "client": ("127.0.0.1", 50000), "server": ("testserver", 80)}
    await ASGIHandler()(scope, receive, send)
    return received


async def _execution_error(trace_id: str) -> str:
    await sync_to_async(flush)()
    [row] = await sync_to_async(list)(Execution.objects.filter(trace_id=trace_of(trace_id)))
    assert row.status == Execution.Status.FAILED
    return str(row.error)


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_client_that_disconnects_mid_stream_stops_the_handler(kind: str) -> None:
    job = f"gone-{kind}-{uuid.uuid4().hex[:8]}"
    assert await _asgi_get(f"/core/stream/{kind}?id={job}&size=10&pause=0.01", job, leave_after_chunks=3) == 3
    # an async handler is cancelled; a sync one (in a thread) has its next write raise
    stopped = await _stream_progress_until(job, "cancelled" if kind == "async" else "ClientDisconnected")
    await asyncio.sleep(0.1)
    assert stream_progress(job)["written"] == stopped["written"]
    assert (await _execution_error(job)).startswith("ClientDisconnected: the client disconnected after ")


@pytest.mark.parametrize("kind", ["async", "sync"])
async def test_a_client_that_disconnects_before_the_response_began_stops_the_handler(kind: str) -> None:
    job = f"early-{kind}-{uuid.uuid4().hex[:8]}"
    assert await _asgi_get(f"/core/stream/{kind}?id={job}&delay=0.3", job, leave_after=0.1) == 0
    # an async handler is cancelled where it waits; a sync one cannot be, and its first write raises
    await _stream_progress_until(job, "cancelled" if kind == "async" else "ClientDisconnected")
    assert stream_progress(job)["written"] == 0
    assert (await _execution_error(job)).startswith("ClientDisconnected: ")


def test_cors_through_django_cors_headers(settings, client: Client) -> None:
    settings.INSTALLED_APPS = [*settings.INSTALLED_APPS, "corsheaders"]
    settings.MIDDLEWARE = ["corsheaders.middleware.CorsMiddleware", *settings.MIDDLEWARE]
    settings.CORS_ALLOWED_ORIGINS = ["http://app.localhost"]
    preflight = client.options(
        "/todos", headers={"Origin": "http://app.localhost", "Access-Control-Request-Method": "POST"}
    )
    assert preflight["Access-Control-Allow-Origin"] == "http://app.localhost"
    response = client.get("/todos", headers={"Origin": "http://app.localhost"})
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == "http://app.localhost"


def test_http_executions_are_recorded_for_traces(client: Client) -> None:
    from motia_django.models import Execution
    from motia_django.tracing.recorder import flush

    ok = client.get("/hello/trace")
    failed = client.get("/responses/boom")
    flush()
    rows = {row.trace_id: row for row in Execution.objects.filter(trigger_type="http")}
    assert rows[ok["X-Trace-Id"]].status == "succeeded" and rows[ok["X-Trace-Id"]].step == "hello"
    assert rows[ok["X-Trace-Id"]].duration_ms is not None
    bad = rows[failed["X-Trace-Id"]]
    assert bad.status == "failed" and "secret internal detail" in bad.error and "Traceback" in bad.traceback


@override_settings(MOTIA={"STEPS_DIRS": [], "TRACING": False})
def test_tracing_can_be_switched_off(client: Client) -> None:
    from motia_django.models import Execution
    from motia_django.tracing.recorder import flush

    client.get("/hello/untraced")
    flush()
    assert not Execution.objects.filter(trigger_type="http").exists()


@override_settings(MOTIA={"STEPS_DIRS": [], "MAX_MESSAGE_BYTES": 64})
def test_enqueue_over_the_size_cap_fails_at_enqueue(client: Client, caplog) -> None:
    from motia_django.models import OutboxMessage

    response = client.post("/ping", data=json.dumps({"how": "enqueue"}), content_type="application/json")
    assert response.status_code == 202  # {"via": "enqueue"} fits
    big = client.post("/fanout", data=json.dumps({"count": 1, "tag": "x" * 200}), content_type="application/json")
    assert big.status_code == 500
    assert any("the limit is 64" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
    assert not OutboxMessage.objects.filter(envelope__data__tag="x" * 200).exists()
