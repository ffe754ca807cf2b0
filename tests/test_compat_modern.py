"""Step files written for Motia 1.0.3+ run unchanged: one-argument handlers, the module-level API, ctx.invoke.

The steps live in ``tests/modern_steps`` (HTTP, queue, state, stream, conditions,
middleware, streams, a multi-trigger step) and ``tests/modern_cron_steps`` (cron,
loaded by workers started with ``MOTIA_TEST_EXTRA_STEPS``).  They run through a
live uvicorn, Django's test client (the sync path) and real Celery workers; the
public names are checked as a unit test of a handler would use them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pydantic
import pytest
from django.test import Client

import motia
from motia import (
    ApiRequest,
    ApiResponse,
    FlowContext,
    NoMatchingHandler,
    StateTriggerInput,
    StreamEvent,
    StreamTriggerInput,
    TriggerInfo,
    multi_trigger_step,
    queue,
    schema_to_json_schema,
    step,
)
from motia_django.context import StepNotInvocable, UnknownStep
from motia_django.cron.tasks import produce_tick
from motia_django.models import Execution, LogRecord, StateEntry
from motia_django.registry import Registry
from motia_django.schemas import SchemaViolation

from .conftest import Process, start_uvicorn, wait_until

TESTS_DIR = Path(__file__).resolve().parent
Worker = Callable[..., Process]


def stored(scope: str) -> dict[str, Any]:
    return dict(StateEntry.objects.filter(group=scope).values_list("key", "value"))


def logged(message: str) -> list[LogRecord]:
    return list(LogRecord.objects.filter(message=message))


@pytest.fixture
def uvicorn(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    yield base
    proc.stop()


# -- the runtime: HTTP, queue, state, stream, cron ------------------------------------------------

@pytest.mark.slow
@pytest.mark.services
def test_one_argument_async_http_handler_reaches_queue_stream_and_logs(start_worker: Worker, uvicorn: str) -> None:
    start_worker()
    response = httpx.post(f"{uvicorn}/m103/greet", json={"name": "ada"}, timeout=10)
    assert response.status_code == 201, response.text
    assert response.json() == {"name": "ada", "count": 1}
    trace = response.headers["X-Trace-Id"]

    wait_until(lambda: "ada" in stored("m103-seen") and "ada" in stored("m103-seen-async"), 30,
               what="both queue subscribers")
    wait_until(lambda: "ada-create" in stored("m103-stream-seen"), 30, what="the stream trigger")
    assert stored("m103-names")["ada"] == {"name": "ada", "via": "async"}
    assert stored("m103-stream-seen")["ada-create"] == {"model": True, "stream": "m103-greetings",
                                                        "data": {"name": "ada"}}
    wait_until(lambda: logged("m103 seen") and logged("m103 greeted"), 15, what="the stored log records")
    greeted, seen = logged("m103 greeted")[0], logged("m103 seen")[0]
    assert (greeted.trace_id, greeted.step, greeted.data) == (trace, "m103-greet", {"name": "ada"})
    assert (seen.trace_id, seen.step, seen.data) == (trace, "m103-on-greeted", {"name": "ada"})


@pytest.mark.slow
@pytest.mark.services
def test_one_argument_sync_handler_gets_values_on_wsgi_and_asgi(start_worker: Worker, uvicorn: str) -> None:
    start_worker()
    via_wsgi = Client().post("/m103/sync-greet", json.dumps({"name": "skip"}), content_type="application/json")
    assert via_wsgi.status_code == 201, via_wsgi.content
    assert via_wsgi.json() == {"stored": {"name": "skip", "via": "sync"}, "read": {"name": "skip", "via": "sync"},
                               "group_is_list": True, "count": 1}
    via_asgi = httpx.post(f"{uvicorn}/m103/sync-greet", json={"name": "bob"}, timeout=10)
    assert via_asgi.status_code == 201, via_asgi.text
    assert via_asgi.json()["read"] == {"name": "bob", "via": "sync"} and via_asgi.json()["count"] == 2

    wait_until(lambda: {"skip", "bob"} <= set(stored("m103-seen")) and "bob" in stored("m103-seen-async"), 30,
               what="the queue subscribers")
    wait_until(lambda: Execution.objects.filter(step="m103-on-greeted-async", status="skipped").exists(), 10,
               what="the skipped execution")
    assert "skip" not in stored("m103-seen-async"), "the (input, ctx) condition still filters"
    wait_until(lambda: len(logged("m103 sync greeted")) == 2, 15, what="the warnings")
    assert {r.trace_id for r in logged("m103 sync greeted")} == {via_wsgi["X-Trace-Id"], via_asgi.headers["X-Trace-Id"]}
    assert {r.level for r in logged("m103 sync greeted")} == {30}


@pytest.mark.slow
@pytest.mark.services
def test_match_with_sync_branches_reads_the_stream_as_a_list(start_worker: Worker, uvicorn: str) -> None:
    start_worker()
    for name in ("x", "y"):
        motia.Stream("m103-greetings").set("default", name, {"name": name})
    assert Client().get("/m103/summary").json() == {"count": 2, "names": ["x", "y"]}
    assert httpx.get(f"{uvicorn}/m103/summary", timeout=10).json() == {"count": 2, "names": ["x", "y"]}
    motia.enqueue({"topic": "m103.summarize", "data": {"key": "k"}})  # outside any execution
    wait_until(lambda: "k" in stored("m103-summaries"), 30, what="the queue branch")
    assert stored("m103-summaries")["k"] == {"count": 2}


@pytest.mark.slow
@pytest.mark.services
def test_middleware_keeps_its_signature_in_front_of_a_one_argument_handler(uvicorn: str) -> None:
    refused = httpx.get(f"{uvicorn}/m103/guarded", timeout=10)
    assert refused.status_code == 401 and refused.json() == {"error": "missing key"}
    allowed = httpx.get(f"{uvicorn}/m103/guarded", headers={"X-M103-Key": "open-sesame"}, timeout=10)
    assert allowed.status_code == 200 and allowed.json() == {"method": "GET"}
    assert allowed.headers["X-M103-Tagged"] == "yes"
    assert Client().get("/m103/guarded", HTTP_X_M103_KEY="open-sesame")["X-M103-Tagged"] == "yes"


@pytest.mark.slow
@pytest.mark.services
def test_state_trigger_gets_motias_model_from_a_plain_call_outside_any_execution(start_worker: Worker) -> None:
    start_worker()
    written = motia.stateManager.set("m103-watched", "k1", {"v": 1})
    assert written.new_value == {"v": 1}
    wait_until(lambda: "k1" in stored("m103-state-seen"), 30, what="the state trigger")
    seen = stored("m103-state-seen")["k1"]
    assert seen["model"] is True
    assert seen["dump"] == {"type": "state", "groupId": "m103-watched", "itemId": "k1", "oldValue": None,
                            "newValue": {"v": 1}, "eventType": "created"}


@pytest.mark.slow
@pytest.mark.services
def test_enqueue_outside_any_execution_starts_a_fresh_trace(start_worker: Worker) -> None:
    start_worker()
    motia.enqueue({"topic": "m103.greeted", "data": {"name": "first"}})
    motia.enqueue({"topic": "m103.greeted", "data": {"name": "second"}})
    wait_until(lambda: {"first", "second"} <= set(stored("m103-seen")), 30, what="both messages")
    wait_until(lambda: Execution.objects.filter(step="m103-on-greeted").count() == 2, 10, what="the records")
    traces = set(Execution.objects.filter(step="m103-on-greeted").values_list("trace_id", flat=True))
    assert len(traces) == 2 and all(traces)


@pytest.mark.slow
@pytest.mark.services
def test_multi_trigger_step_handlers_take_input_and_ctx(start_worker: Worker, uvicorn: str) -> None:
    start_worker()
    response = httpx.post(f"{uvicorn}/m103/multi?key=a", timeout=10)
    assert response.status_code == 202
    wait_until(lambda: "a" in stored("m103-multi"), 30, what="the queue handler")
    assert stored("m103-multi")["a"] == {"topic": "m103.multi", "trace": response.json()["trace"]}


@pytest.mark.slow
@pytest.mark.services
def test_cron_handlers_with_no_arguments_and_multi_trigger_ctx(start_worker: Worker) -> None:
    from django.utils import timezone

    start_worker(MOTIA_TEST_EXTRA_STEPS=str(Path(__file__).parent / "modern_cron_steps"))
    schedules = Registry.discover([TESTS_DIR / "modern_cron_steps"]).schedules
    assert sorted(b.step.name for b in schedules) == ["m103-multi-tick", "m103-tick"]
    for binding in schedules:
        produce_tick(binding, "0 0 1 1 *", timezone.now().replace(microsecond=0))
    wait_until(lambda: {"zero-args", "multi"} <= set(stored("m103-cron")), 30, what="both cron handlers")
    assert stored("m103-cron")["zero-args"] == {"ran": True}
    multi = stored("m103-cron")["multi"]
    assert multi["cron"] is True and multi["trace"]


# -- ctx.invoke ----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.services
def test_invoke_returns_the_other_steps_result_in_the_same_trace(uvicorn: str) -> None:
    for base, path in ((uvicorn, "/m103/invoke"), (uvicorn, "/m103/invoke-sync")):
        body = httpx.get(f"{base}{path}?n=21", timeout=10).json()
        assert body["result"] == {"doubled": 42, "trace": body["trace"], "trigger": "queue"}, path
    for path in ("/m103/invoke", "/m103/invoke-sync"):
        body = Client().get(f"{path}?n=4").json()
        assert body["result"] == {"doubled": 8, "trace": body["trace"], "trigger": "queue"}, path
        assert Client().get(f"{path}?n=-1").status_code == 500, "the invoked step's error reaches the caller"


@pytest.mark.django_db
def test_invoke_errors_are_clear() -> None:
    ctx: FlowContext[Any] = FlowContext(trace_id="t-1")
    assert ctx.invoke("m103-double", {"n": 3}) == {"doubled": 6, "trace": "t-1", "trigger": "queue"}
    with pytest.raises(ValueError, match="no negative numbers"):
        ctx.invoke("m103-double", {"n": -3})
    with pytest.raises(SchemaViolation, match="'n' is a required property"):
        ctx.invoke("m103-double", {})
    with pytest.raises(UnknownStep, match=r"ctx.invoke\('m103-nope'\): no such step \(known: .*m103-double"):
        ctx.invoke("m103-nope", {})
    with pytest.raises(StepNotInvocable, match="'m103-greet'.*no queue trigger.*its triggers: http"):
        ctx.invoke("m103-greet", {"name": "x"})


@pytest.mark.django_db(transaction=True)
async def test_invoke_is_awaited_from_async_code() -> None:
    ctx: FlowContext[Any] = FlowContext(trace_id="t-2")
    assert await ctx.invoke("m103-double", {"n": 5}) == {"doubled": 10, "trace": "t-2", "trigger": "queue"}
    with pytest.raises(ValueError, match="no negative numbers"):
        await ctx.invoke("m103-double", {"n": -5})


# -- handler signatures, decided where user code is called ----------------------------------------

def test_handlers_get_what_their_signature_takes() -> None:
    from motia_django.execution import run_handler

    calls: list[tuple[Any, ...]] = []

    def none() -> str:
        calls.append(())
        return "none"

    def one(input: Any) -> str:
        calls.append((input,))
        return "one"

    async def one_async(input: Any) -> str:
        calls.append((input,))
        return "one-async"

    def two(input: Any, ctx: Any) -> str:
        calls.append((input, ctx.trace_id))
        return "two"

    for handler, expected in ((none, "none"), (one, "one"), (one_async, "one-async"), (two, "two")):
        definition = step({"name": f"sig-{expected}", "triggers": [queue("sig")]}, handler)
        assert run_handler(definition, "in", FlowContext(definition, trace_id="t")) == expected
    assert calls == [(), ("in",), ("in",), ("in", "t")]


# -- Motia's public names and shapes --------------------------------------------------------------

class FakeState:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], Any] = {}

    async def set(self, scope: str, key: str, value: Any) -> Any:
        self.values[scope, key] = value
        return value


class FakeLogger:
    def __init__(self) -> None:
        self.lines: list[tuple[str, Any]] = []

    def info(self, message: str, data: Any = None) -> None:
        self.lines.append((message, data))


async def test_flow_context_built_by_keyword_hands_the_fakes_to_a_handler() -> None:
    sent: list[Any] = []

    async def fake_enqueue(message: Any) -> None:
        sent.append(message)

    async def handler(request: ApiRequest[Any], ctx: FlowContext[Any]) -> ApiResponse[Any]:
        await ctx.enqueue({"topic": "anything", "data": request.body})
        await ctx.state.set("orders", "o1", request.body)
        ctx.logger.info("stored", {"id": "o1"})
        ctx.streams["orders"].append(request.body)
        return ApiResponse(status=201, body={"trace": ctx.trace_id, "http": ctx.is_api()})

    state, log, streams = FakeState(), FakeLogger(), {"orders": []}
    request: ApiRequest[Any] = ApiRequest(body={"amount": 3})
    ctx: FlowContext[Any] = FlowContext(enqueue=fake_enqueue, trace_id="trace-9", state=state, logger=log,
                                        streams=streams, trigger=TriggerInfo(type="http", path="/orders"),
                                        input_value=request)
    response = await handler(request, ctx)
    assert (response.status, response.body) == (201, {"trace": "trace-9", "http": True})
    assert sent == [{"topic": "anything", "data": {"amount": 3}}]
    assert state.values == {("orders", "o1"): {"amount": 3}}
    assert log.lines == [("stored", {"id": "o1"})] and streams == {"orders": [{"amount": 3}]}


def test_flow_context_defaults() -> None:
    bare: FlowContext[Any] = FlowContext()
    assert bare.trace_id and bare.trace_id != FlowContext().trace_id
    assert bare.trigger.type == "queue" and bare.step_name is None
    assert FlowContext(input_value=ApiRequest()).is_api()
    assert FlowContext(trigger={"type": "cron", "expression": "* * * * *"}).is_cron()
    sync_sent: list[Any] = []
    FlowContext(enqueue=sync_sent.append).enqueue({"topic": "t", "data": 1})
    assert sync_sent == [{"topic": "t", "data": 1}]


async def test_multi_trigger_step_calls_fn_input_ctx_and_cron_fn_ctx() -> None:
    seen: list[Any] = []

    async def on_queue(input: Any, ctx: FlowContext[Any]) -> str:
        seen.append(("queue", input, ctx.trace_id))
        return "q"

    async def on_cron(ctx: FlowContext[Any]) -> str:
        seen.append(("cron", ctx.trace_id))
        return "c"

    definition = multi_trigger_step({"name": "mt-103", "triggers": [queue("x")]}).on_queue(on_queue).on_cron(
        on_cron).handlers()
    assert await definition.handler(1, FlowContext(trigger=TriggerInfo(type="queue"), trace_id="a")) == "q"
    assert await definition.handler(None, FlowContext(trigger=TriggerInfo(type="cron"), trace_id="b")) == "c"
    assert seen == [("queue", 1, "a"), ("cron", "b")]
    with pytest.raises(RuntimeError, match="No handler defined for trigger type: stream"):
        await definition.handler(None, FlowContext(trigger=TriggerInfo(type="stream")))


async def test_match_without_a_branch_is_a_runtime_error() -> None:
    assert issubclass(NoMatchingHandler, RuntimeError)
    with pytest.raises(RuntimeError, match="no handler for a 'state' trigger"):
        await FlowContext(trigger=TriggerInfo(type="state")).match({"http": lambda request: None})


def test_trigger_inputs_are_pydantic_models_in_both_cases() -> None:
    change = StateTriggerInput.model_validate({"groupId": "users", "itemId": "u1", "newValue": {"a": 1}})
    assert isinstance(change, pydantic.BaseModel)
    assert change == StateTriggerInput(group_id="users", item_id="u1", new_value={"a": 1})
    assert change.model_dump(by_alias=True)["newValue"] == {"a": 1} and change.get("itemId") == "u1"
    event = StreamTriggerInput(streamName="todos", groupId="g", id="1", timestamp=5,
                               event={"type": "update", "data": {"done": True}})
    assert isinstance(event.event, StreamEvent) and event.event.data == {"done": True}
    assert event.model_dump(by_alias=True) == {"type": "stream", "timestamp": 5, "streamName": "todos",
                                               "groupId": "g", "id": "1",
                                               "event": {"type": "update", "data": {"done": True}}}
    assert StreamTriggerInput(stream_name="todos", group_id="g", id="1", timestamp=5,
                              event=StreamEvent(type="create")).stream_name == "todos"
    with pytest.raises(pydantic.ValidationError):
        StreamTriggerInput.model_validate({"streamName": "todos"})


def test_motias_public_names_are_exported() -> None:
    for name in ("Step", "Enqueuer", "TriggerInput", "ApiMiddleware", "MotiaHttpResponse", "StreamAuthInput",
                 "StreamAuthResult", "StreamSubscription", "schema_to_json_schema", "enqueue", "logger",
                 "stateManager", "Stream"):
        assert name in motia.__all__ and hasattr(motia, name), name
    assert issubclass(motia.Step, motia.StepDefinition)
    assert motia.StreamAuthResult(authorized=True).context is None
    assert motia.StreamSubscription(stream_name="s", group_id="g", id=None, subscription_id="1")["groupId"] == "g"


def test_schema_to_json_schema() -> None:
    class Order(pydantic.BaseModel):
        amount: int

    assert schema_to_json_schema(Order)["properties"] == {"amount": {"title": "Amount", "type": "integer"}}
    assert schema_to_json_schema({"type": "string"}) == {"type": "string"}
    assert schema_to_json_schema(None) is None and schema_to_json_schema(print) is None


@pytest.mark.parametrize(("answer", "context"), [
    (motia.StreamAuthResult(authorized=True, context={"user": "u"}), {"user": "u"}),
    (True, None),
    ({"user": "plain"}, {"user": "plain"}),
])
async def test_authenticate_hooks_may_answer_as_in_motia(settings: Any, answer: Any, context: Any) -> None:
    from motia_django.streams import auth

    settings.MOTIA = {**settings.MOTIA, "STREAM_AUTHENTICATE": "tests.test_compat_modern.answer_with"}
    ANSWERS[:] = [answer]
    assert await auth.authenticate({"type": "websocket", "path": "/streams", "client": ["1.2.3.4", 5]}) == context
    assert SEEN_ADDRESSES == ["1.2.3.4:5"]
    SEEN_ADDRESSES.clear()


@pytest.mark.parametrize("answer", [False, motia.StreamAuthResult(authorized=False)])
async def test_authenticate_hooks_may_refuse_as_in_motia(settings: Any, answer: Any) -> None:
    from motia_django.streams import auth

    settings.MOTIA = {**settings.MOTIA, "STREAM_AUTHENTICATE": "tests.test_compat_modern.answer_with"}
    ANSWERS[:] = [answer]
    with pytest.raises(auth.StreamAuthRefused):
        await auth.authenticate({"type": "websocket", "path": "/streams"})
    SEEN_ADDRESSES.clear()


ANSWERS: list[Any] = []
SEEN_ADDRESSES: list[str] = []


def answer_with(request: motia.StreamAuthInput) -> Any:
    """A settings ``STREAM_AUTHENTICATE`` hook answering what the test put in ``ANSWERS``."""
    SEEN_ADDRESSES.append(request.addr)
    return ANSWERS[0]
