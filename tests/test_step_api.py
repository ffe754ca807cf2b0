"""Unit tests of the public step API: configs, triggers, builders, FlowContext."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

import motia
from motia import (
    ApiTrigger,
    CronTrigger,
    Enqueue,
    EventTrigger,
    FlowContext,
    HandlerConfig,
    InfrastructureConfig,
    QueueConfig,
    StateTriggerInput,
    StepConfig,
    StepConfigError,
    StepDefinition,
    StreamEvent,
    StreamTriggerInput,
    TriggerInfo,
    api,
    cron,
    http,
    multi_trigger_step,
    queue,
    state,
    step,
    step_wrapper,
    stream,
)


async def noop(input: Any, ctx: Any) -> None:
    return None


def test_every_public_name_is_importable_from_motia() -> None:
    for name in motia.__all__:
        assert hasattr(motia, name), name
    for name in ("multi_trigger_step", "MotiaHttpArgs", "QueueTrigger", "StateTrigger", "StreamTrigger",
                 "StreamConfig", "is_api_trigger", "is_queue_step", "get_cron_triggers", "enqueue", "logger",
                 "stateManager"):
        assert name in motia.__all__


def test_step_with_handler_and_builder_forms() -> None:
    definition = step({"name": "a", "triggers": [http("GET", "/a")]}, noop)
    assert isinstance(definition, StepDefinition) and definition.handler is noop
    builder = step({"name": "b", "triggers": [http("GET", "/b")]})

    @builder.handle
    async def handler(req: Any, ctx: Any) -> str:
        return "called"

    assert isinstance(handler, StepDefinition) and builder.definition is handler
    wrapped = step_wrapper(StepConfig(name="c", triggers=[ApiTrigger(path="/c", method="get")]), "/x/c_step.py", noop)
    assert wrapped.file_path == "/x/c_step.py" and wrapped.config.triggers[0].method == "GET"


async def test_decorated_handler_stays_callable() -> None:
    builder = step({"name": "b", "triggers": [http("GET", "/b")]})

    @builder.handle
    async def handler(req: Any, ctx: Any) -> str:
        return f"called {req}"

    assert await handler("x", None) == "called x"


def test_camel_and_snake_case_keys_and_emits_alias() -> None:
    config = StepConfig.model_validate(
        {
            "name": "s",
            "triggers": [{"type": "api", "path": "/x", "method": "POST", "bodySchema": {"type": "object"}},
                         {"type": "event", "subscribes": ["a", "b"]}],
            "emits": ["out"],
            "enqueues": [Enqueue("other", "Other")],
            "virtualEnqueues": ["v"],
            "infrastructure": {"handler": {"timeout": 5}, "queue": {"maxRetries": 7, "backoff_type": "fixed",
                                                                     "backoffDelayMs": 250}},
        }
    )
    assert config.enqueue_topics == ["other", "out"]
    assert config.virtual_enqueue_topics == ["v"]
    assert config.infrastructure is not None and config.infrastructure.queue is not None
    assert config.infrastructure.queue.max_retries == 7 and config.infrastructure.queue.backoff_delay_ms == 250
    assert config.infrastructure.handler == HandlerConfig(timeout=5)
    assert config.triggers[0].body is not None
    assert isinstance(config.triggers[1], EventTrigger) and config.triggers[1].topics == ["a", "b"]


def test_infrastructure_as_objects() -> None:
    config = StepConfig(
        name="heavy",
        triggers=[EventTrigger(subscribes=["data.uploaded"])],
        infrastructure=InfrastructureConfig(
            handler=HandlerConfig(ram=512, cpu=2, timeout=300),
            queue=QueueConfig(type="fifo", max_retries=5, concurrency=10, backoff_type="exponential",
                              backoff_delay_ms=1000, visibility_timeout=60, delay_seconds=10),
        ),
    )
    assert config.infrastructure is not None and config.infrastructure.queue is not None
    assert config.infrastructure.queue.type == "fifo"


@pytest.mark.parametrize(
    ("config", "fields"),
    [
        ({"triggers": [http("GET", "/x")]}, ["name"]),
        ({"name": "x", "triggers": []}, ["triggers"]),
        ({"name": "x", "triggers": [{"type": "bogus"}]}, ["triggers.0"]),
        ({"name": "x", "triggers": [http("GET", "/x")], "infrastructure": {"queue": {"type": "lifo"}}},
         ["infrastructure.queue.type"]),
        ({"name": "x", "triggers": [http("GET", "/x")], "trigers": []}, ["trigers"]),
    ],
)
def test_invalid_configs_name_the_field(config: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(StepConfigError) as info:
        step(config, noop)
    assert [f for f, _ in info.value.errors] == fields


def test_invalid_trigger_arguments_fail_at_declaration() -> None:
    with pytest.raises(ValueError, match="unsupported HTTP method"):
        http("FETCH", "/x")
    with pytest.raises(ValueError, match="must be a valid identifier"):
        http("GET", "/x/:not-valid")
    with pytest.raises(ValueError, match="invalid schema"):
        http("POST", "/x", body_schema={"type": "no-such-type"})
    with pytest.raises(ValueError, match="condition\n  Input should be callable"):
        queue("t", condition="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid day of month field '32'"):
        cron("0 0 32 * *")
    with pytest.raises(ValueError, match="has 4 fields"):
        CronTrigger(cron="* * * *")


def test_cron_forms() -> None:
    assert cron("0 9 * * *").expression == "0 9 * * *"
    assert CronTrigger(cron="*/5 * * * * *").expression == "*/5 * * * * *"
    assert CronTrigger(expression="0 */5 * * * * *").expression == "0 */5 * * * * *"


def test_api_is_deprecated_alias_of_http() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trigger = api("GET", "/old")
    assert trigger == http("GET", "/old")
    assert caught and issubclass(caught[0].category, DeprecationWarning)


def test_trigger_kinds_answer_to_both_names() -> None:
    info = TriggerInfo(type="api")
    assert info.type == "http" and info.type == "api" and info.type != "queue"
    assert TriggerInfo(type="event").type == "queue"
    assert str(TriggerInfo(type="event").type) == "queue"


def test_stream_and_state_triggers() -> None:
    trigger = stream("todos", group_id="inbox", condition=lambda i, c: True)
    assert trigger.stream_name == "todos" and trigger.group_id == "inbox" and trigger.item_id is None
    assert state().kind == "state"


def test_guards_and_getters() -> None:
    definition = step({"name": "m", "triggers": [http("GET", "/m"), queue("q"), cron("* * * * *"), state()]}, noop)
    assert motia.is_api_step(definition) and motia.is_queue_step(definition) and motia.is_cron_step(definition)
    assert not motia.is_stream_step(definition)
    assert [t.topic for t in motia.get_queue_triggers(definition)] == ["q"]
    assert motia.is_state_trigger(definition.config.triggers[3])


def _ctx(kind: str, input_value: Any = None, enqueues: list[str] | None = None) -> FlowContext[Any]:
    definition = step({"name": "ctx", "triggers": [http("GET", "/c")], "enqueues": enqueues or []}, noop)
    return FlowContext(definition, TriggerInfo(type=kind), "trace-1", input_value)


async def test_match_picks_the_handler_for_the_trigger() -> None:
    async def on_http(req: Any) -> str:
        return f"http {req}"

    async def on_cron() -> str:
        return "cron"

    def on_queue(data: Any) -> str:
        return f"queue {data}"

    handlers = {"http": on_http, "queue": on_queue, "cron": on_cron}
    assert await _ctx("http", "r").match(handlers) == "http r"
    assert await _ctx("api", "r").match({"api": on_http}) == "http r"
    assert await _ctx("queue", 3).match(handlers) == "queue 3"
    assert await _ctx("event", 3).match({"event": on_queue}) == "queue 3"
    assert await _ctx("cron").match(handlers) == "cron"
    assert await _ctx("state", "s").match({**handlers, "default": lambda x: f"default {x}"}) == "default s"
    with pytest.raises(LookupError, match="no handler for a 'stream' trigger"):
        await _ctx("stream").match(handlers)


def test_type_guards_and_get_data() -> None:
    assert _ctx("queue", {"a": 1}).is_queue() and _ctx("queue", {"a": 1}).get_data() == {"a": 1}
    assert _ctx("cron", "ignored").get_data() is None
    assert _ctx("state").is_state() and _ctx("stream").is_stream() and _ctx("cron").is_cron()


def test_enqueue_rejects_undeclared_topics() -> None:
    with pytest.raises(ValueError, match="may not enqueue to 'nope'.*declared: ok"):
        _ctx("http", enqueues=["ok"]).enqueue({"topic": "nope", "data": 1})
    with pytest.raises(ValueError, match="needs a 'topic'"):
        _ctx("http").enqueue({"data": 1})


def test_module_level_enqueue_outside_a_step_still_refuses_an_unknown_topic() -> None:
    from motia_django.queues.publisher import UnknownTopic

    with pytest.raises(UnknownTopic, match="no step declares topic 'x'"):
        motia.enqueue({"topic": "x", "data": 1})


def test_trigger_inputs_read_as_attributes_and_dicts() -> None:
    change = StateTriggerInput(group_id="users", item_id="u1", old_value=None, new_value={"status": "active"},
                               event_type="created")
    assert change.new_value == change["new_value"] == change.get("newValue") == {"status": "active"}
    assert change.get("missing", 5) == 5 and "group_id" in change
    event = StreamTriggerInput(stream_name="todos", group_id="g", id="1", event=StreamEvent("create", {"a": 1}),
                               timestamp=1)
    assert event["event"]["type"] == "create" and event.event.data == {"a": 1} and event["streamName"] == "todos"


async def test_multi_trigger_step_dict_and_chain() -> None:
    async def on_queue(data: Any) -> str:
        return f"q{data}"

    chained = multi_trigger_step({"name": "mt", "triggers": [queue("x"), http("GET", "/mt")]}).on_queue(on_queue)
    definition = chained.handlers()
    ctx = FlowContext(definition, TriggerInfo(type="queue", topic="x"), "t", 1)
    assert await definition.handler(1, ctx) == "q1"
    by_dict = multi_trigger_step({"name": "md", "triggers": [queue("x")]}).handlers({"queue": on_queue})
    assert await by_dict.handler(2, FlowContext(by_dict, TriggerInfo(type="queue"), "t", 2)) == "q2"
    with pytest.raises(StepConfigError, match="no trigger handler"):
        multi_trigger_step({"name": "none", "triggers": [queue("x")]}).handlers()


def test_logger_prints_plain_or_json_lines() -> None:
    import json
    import logging

    from motia_django.logs import JsonFormatter, PlainFormatter, StepLogger

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    base = logging.getLogger("motia.steps.format-test")
    base.addHandler(handler)
    base.setLevel(logging.DEBUG)
    logger = StepLogger("create-order", "trace-9", base)
    logger.warn("Order exceeds limit", {"amount": 5}, extra={"currency": "EUR"})
    line = json.loads(JsonFormatter().format(records[0]))
    assert line["level"] == "warning" and line["msg"] == "Order exceeds limit"
    assert line["step"] == "create-order" and line["traceId"] == "trace-9"
    assert line["data"] == {"amount": 5, "currency": "EUR"}
    plain = PlainFormatter().format(records[0])
    assert "[create-order trace-9] Order exceeds limit" in plain and '"currency": "EUR"' in plain
