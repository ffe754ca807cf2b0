"""Step files written for Motia 0.x (``tests/legacy_steps``) run unchanged: configs, handlers, context, streams.

The HTTP steps are served by a live ASGI server and Django's test client, the event
and cron steps by a real Celery worker; the files import ``l0_services`` from beside
their ``steps/`` folder, as Motia's runner allowed.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from motia_django.context import UndeclaredTopic
from motia_django.cron.expression import CronExpression
from motia_django.cron.tasks import produce_tick
from motia_django.models import DeadLetter
from motia_django.registry import Registry, get_registry
from motia_django.registry.legacy import NoopStepConfig
from motia_django.schemas import SchemaViolation
from motia_django.state.manager import StateManager
from motia_django.steps.triggers import ApiTrigger, CronTrigger, QueueTrigger
from motia_django.streams.auth import StreamSubscription, can_join
from motia_django.streams.stream import Stream, declared_streams
from motia_django.testing.harness import MotiaHarness
from motia_django.workbench.graph import build_graph

from .conftest import Process, wait_until

Worker = Callable[..., Process]
#: The 0.x cron step, loaded only by this file's worker: the shared test app's schedules stay as other tests count them.
SCHEDULED = Path(__file__).resolve().parent / "legacy_steps" / "scheduled"
LARGE_ORDER = {"id": "l0-big", "items": [{"price": 60, "quantity": 2}]}


def state(group: str, key: str) -> Any:
    return StateManager().get(group, key)


def stream_item(item_id: str) -> Any:
    return Stream("l0Orders").get("orders", item_id)


# -- configs -------------------------------------------------------------------------------------


def test_each_step_kind_maps_onto_triggers() -> None:
    steps = get_registry().steps
    create, get = steps["l0-create-order"].config, steps["l0-get-order"].config
    [http_trigger] = create.triggers
    assert isinstance(http_trigger, ApiTrigger) and (http_trigger.method, http_trigger.path) == ("POST", "/l0/orders")
    assert set(http_trigger.responses) == {201} and http_trigger.body is not None
    assert [(e.topic, e.label, e.conditional) for e in create.enqueues] == [
        ("l0-order-placed", "Order placed", False), ("l0-order-flagged", "Large order", True)]
    assert create.description == "Place an order" and create.flows == ["l0-orders"]
    [get_trigger] = get.triggers
    assert isinstance(get_trigger, ApiTrigger) and [q.name for q in get_trigger.query_params or []] == ["reader"]
    assert steps["l0-get-order"].file_path.endswith("l0_get_order.step.py")  # type: ignore[union-attr]

    [queue_trigger] = steps["l0-fulfil-order"].config.triggers
    assert isinstance(queue_trigger, QueueTrigger) and queue_trigger.topic == "l0-order-placed"
    assert queue_trigger.input_schema is not None

    scheduled = Registry.discover([SCHEDULED])
    assert scheduled.errors == []
    audit = scheduled.steps["l0-weekly-audit"].config
    [cron_trigger] = audit.triggers
    assert isinstance(cron_trigger, CronTrigger) and audit.enqueue_topics == ["l0-audit-report"]
    # five fields keep their meaning: Mondays at midnight
    wednesday = datetime(2025, 1, 1, 12, tzinfo=UTC)
    assert CronExpression.parse(cron_trigger.expression).next_after(wednesday) == datetime(
        2025, 1, 6, tzinfo=UTC)


def test_a_noop_step_is_declared_but_never_bound() -> None:
    registry = get_registry()
    noop = registry.steps["l0-manual-review"]
    assert isinstance(noop.config, NoopStepConfig) and noop.config.triggers == []
    assert noop.config.virtual_subscribes == ["l0-order-flagged", "l0-audit-report"]
    assert [(e.topic, e.label) for e in noop.config.virtual_enqueues] == [("l0-order-requested", "Re-order")]
    bound = [*registry.routes, *registry.background_bindings]
    assert not [b for b in bound if b.step.name == "l0-manual-review"]
    assert not [w for w in registry.warnings if "l0-" in w]


def test_the_flow_graph_shows_the_noop_step_and_the_conditional_emit() -> None:
    flow = build_graph(get_registry()).flow("l0-orders")
    assert flow is not None
    steps = {n.label for n in flow.steps}
    assert steps == {"l0-create-order", "l0-get-order", "l0-fulfil-order", "l0-review-order", "l0-manual-review"}
    edges = {e.id: e for e in flow.edges}
    flagged_in = edges["topic:l0-order-flagged->step:l0-manual-review"]
    assert flagged_in.virtual
    requested = edges["step:l0-manual-review->topic:l0-order-requested"]
    assert requested.virtual and requested.text == "Re-order"
    flagged_out = edges["step:l0-create-order->topic:l0-order-flagged"]
    assert not flagged_out.virtual and flagged_out.text == "Large order (conditional)"
    assert not edges["topic:l0-order-flagged->step:l0-review-order"].virtual


def _write(directory: Path, name: str, source: str) -> Path:
    path = directory / "steps" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    return path


@pytest.mark.parametrize(("source", "field", "message"), [
    ('config = {"type": "event", "name": "l0-typo", "subscribe": ["x"]}\n\ndef handler(d, c): pass\n',
     "subscribe", "not a key of a event step"),
    ('config = {"type": "event", "name": "l0-none", "subscribes": []}\n\ndef handler(d, c): pass\n',
     "subscribes", "non-empty list of topics"),
    ('config = {"type": "api", "name": "l0-path", "path": "l0/x", "method": "GET"}\n\ndef handler(r, c): pass\n',
     "path", "must start with '/'"),
    ('config = {"type": "api", "name": "l0-emits", "path": "/l0/x", "method": "GET", "emits": [{"label": "x"}]}\n'
     '\ndef handler(r, c): pass\n', "emits.0.topic", "Field required"),
    ('config = {"type": "cron", "name": "l0-cron", "cron": "61 * * * *"}\n\ndef handler(c): pass\n',
     "cron", "invalid minute field"),
    ('config = {"type": "api", "name": "l0-nohandler", "path": "/l0/y", "method": "GET"}\n',
     "handler", "needs a module-level handler"),
])
def test_a_broken_0x_config_names_its_own_key_file_and_line(tmp_path: Path, source: str, field: str,
                                                            message: str) -> None:
    path = _write(tmp_path, "broken_step.py", "# a 0.x step\n" + source)
    registry = Registry.discover([tmp_path / "steps"])
    [error] = registry.errors
    assert (error.file, error.line) == (str(path), 2)
    assert f"{field}: " in error.message and message in error.message, error.message


def test_the_project_root_is_importable_from_a_step_file(tmp_path: Path) -> None:
    package = tmp_path / "l0_root_probe"
    package.mkdir()
    (package / "__init__.py").write_text("GREETING = 'from beside steps/'\n")
    _write(tmp_path, "probe.step.py", "from l0_root_probe import GREETING\n\nconfig = {'type': 'cron', "
           "'name': 'l0-probe', 'cron': '* * * * *', 'description': GREETING}\n\ndef handler(context): pass\n")
    registry = Registry.discover([tmp_path / "steps"])
    assert registry.errors == [] and registry.steps["l0-probe"].config.description == "from beside steps/"


# -- streams -------------------------------------------------------------------------------------


def test_a_0x_stream_file_declares_schema_and_access(db: None) -> None:
    get_registry()
    config = declared_streams()["l0Orders"]
    assert config.base_config == {"storageType": "default"}
    with pytest.raises(SchemaViolation):
        Stream("l0Orders").set("orders", "l0-bad", {"id": "l0-bad"})  # no status

    def join(group: str, auth: Any) -> bool:
        return asyncio.run(can_join(config, StreamSubscription("l0Orders", group, None, "s1"), auth))

    assert join("customer-7", {"userId": "7"}) and not join("customer-8", {"userId": "7"})
    assert not join("customer-7", None)


# -- HTTP through Django's test client (the sync view) -------------------------------------------


def test_middleware_answers_for_the_handler_and_the_body_schema_holds(db: None) -> None:
    client = Client()
    refused = client.post("/l0/orders", json.dumps(LARGE_ORDER), content_type="application/json")
    assert refused.status_code == 401 and refused.json() == {"error": "missing X-Customer"}

    invalid = client.post("/l0/orders", json.dumps({"id": "l0-x", "items": [{"price": "a"}]}),
                          content_type="application/json", headers={"X-Customer": "ann"})
    assert invalid.status_code == 400 and invalid.json()["error"] == "Request body failed validation"
    assert invalid["X-L0-Checked"] == "yes"  # the middleware wraps the validation, as it wraps the handler

    missing = client.get("/l0/orders/l0-nothing")
    assert missing.status_code == 404 and missing.json() == {"error": "no order l0-nothing", "reader": "anonymous"}


def test_emit_to_a_topic_not_in_emits_fails_the_execution(db: None) -> None:
    harness = MotiaHarness()
    with harness.capturing():
        harness.emit("l0-order-placed", {"id": "l0-rogue-order", "customer": "l0-rogue", "total": 1})
        results = harness.drain()
    errors = [r.error for r in results if r.error is not None]
    assert errors and all(isinstance(e, UndeclaredTopic) for e in errors)  # every attempt, until a dead letter
    assert "'l0-undeclared'" in str(errors[0]) and DeadLetter.objects.filter(step="l0-fulfil-order").exists()


# -- the whole flow through a live server and a real worker ------------------------------------------


@pytest.mark.slow
@pytest.mark.services
def test_an_order_flows_through_api_event_and_cron_steps(start_worker: Worker, live_asgi: str) -> None:
    start_worker(MOTIA_TEST_EXTRA_STEPS=str(SCHEDULED))
    response = httpx.post(f"{live_asgi}/l0/orders", json=LARGE_ORDER, headers={"X-Customer": "ann"}, timeout=30)
    assert response.status_code == 201, response.text
    trace_id = response.headers["X-Trace-Id"]
    assert response.json() == {"id": "l0-big", "total": 120, "traceId": trace_id, "flows": ["l0-orders"]}
    assert response.headers["X-L0-Checked"] == "yes"
    assert state(trace_id, "order") == {"id": "l0-big", "customer": "ann", "total": 120}

    # the sync event step writes state and the stream; the async one takes the conditional topic
    wait_until(lambda: stream_item("l0-big") is not None and state("l0-flagged", "orders"), 30,
               what="both event steps")
    assert stream_item("l0-big") == {"id": "l0-big", "status": "fulfilled", "total": 120}
    assert state(trace_id, "fulfilled") == {"id": "l0-big", "flows": ["l0-orders"]}
    assert state("l0-flagged", "orders") == ["l0-big"]

    read = httpx.get(f"{live_asgi}/l0/orders/l0-big", params={"reader": "bo"}, timeout=30)
    assert read.status_code == 200 and read.json() == {"id": "l0-big", "status": "fulfilled", "total": 120,
                                                         "reader": "bo"}

    # a small order emits only the unconditional topic
    small = httpx.post(f"{live_asgi}/l0/orders", json={"id": "l0-small", "items": [{"price": 5, "quantity": 1}]},
                       headers={"X-Customer": "cy"}, timeout=30)
    assert small.status_code == 201
    wait_until(lambda: stream_item("l0-small") is not None, 30, what="the small order")

    binding = Registry.discover([SCHEDULED]).binding("l0-weekly-audit#0")
    assert binding is not None
    produce_tick(binding, "0 0 * * 1", datetime(2025, 1, 6, tzinfo=UTC))
    wait_until(lambda: state("l0-audit", "last") is not None, 30, what="the cron step")
    audit = state("l0-audit", "last")
    assert audit["flagged"] == 1 and audit["traceId"] not in (trace_id, small.headers["X-Trace-Id"])
