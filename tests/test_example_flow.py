"""The example app's flows, tested the way a step author would, with the ``motia`` pytest fixtures."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from motia_django.models import DeadLetter, Execution


def test_order_flow_runs_in_process(motia: Any) -> None:
    response = motia.post("/orders", {"item": "gadget", "quantity": 3})
    assert response.status_code == 202
    order_id = response.json()["id"]
    [created] = motia.enqueued("order.created")
    assert created.data == {"orderId": order_id, "item": "gadget", "quantity": 3}
    assert created.trace_id == response["X-Trace-Id"]
    assert motia.state.get("orders", order_id)["status"] == "received"

    motia.drain()

    assert motia.state.get("orders", order_id) == {
        "item": "gadget", "quantity": 3, "id": order_id, "status": "completed", "total": 36,
    }
    [priced] = motia.enqueued("order.priced")
    assert priced.data == {"orderId": order_id, "total": 36}
    assert motia.pending == 0


def test_fields_outside_the_schema_are_not_kept(motia: Any) -> None:
    response = motia.post("/orders", {"item": "gadget", "quantity": 1, "note\u0000": {"x": "\u0000"}})
    assert response.status_code == 202
    assert motia.state.get("orders", response.json()["id"]) == {
        "item": "gadget", "quantity": 1, "id": response.json()["id"], "status": "received",
    }


def test_a_queue_step_on_its_own(motia: Any) -> None:
    motia.state.set("orders", "o-1", {"status": "received"})
    motia.emit("order.created", {"orderId": "o-1", "item": "widget", "quantity": 2})
    motia.drain()
    assert motia.state.get("orders", "o-1") == {"status": "completed", "total": 10}


def test_a_message_breaking_the_input_schema_is_a_dead_letter(motia: Any) -> None:
    motia.emit("order.created", {"orderId": "o-2"})
    motia.drain()
    letter = DeadLetter.objects.get(step="ProcessOrder")
    assert letter.error_type == "InvalidInput" and "item" in letter.error


def test_todos_api(motia: Any) -> None:
    created = motia.post("/todos", {"title": "Buy milk"}).json()
    assert motia.get("/todos").json() == [created]
    assert motia.streams["todos"].get("default", created["id"]) == created
    [event] = motia.enqueued("todo.created")
    assert event.data == created
    motia.drain()
    [execution] = Execution.objects.filter(step="notify-todo-created")
    assert execution.status == "succeeded" and execution.trace_id == event.trace_id


@pytest.mark.slow
@pytest.mark.services
def test_order_flow_through_a_real_worker(motia_worker: Any, broker_url: str) -> None:
    response = Client().post("/orders", {"item": "widget", "quantity": 1}, content_type="application/json")
    order_id = response.json()["id"]
    from motia_django.state.manager import StateManager

    motia_worker.wait_for(lambda: (StateManager().get("orders", order_id) or {}).get("status") == "completed")
