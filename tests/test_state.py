"""ctx.state: the API on the configured database, atomic updates across processes, state triggers, admin."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction
from django.test import Client

from motia_django.models import ChangePayload, Execution, StateEntry
from motia_django.state.manager import StateManager
from motia_django.store import InvalidOperation

from .conftest import ROOT, child_env, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def states() -> StateManager:
    return StateManager()


def test_get_set_delete_and_listing(states: StateManager) -> None:
    assert states.get("users", "u1") is None
    first = states.set("users", "u1", {"name": "Ann"})
    assert (first.old_value, first.new_value) == (None, {"name": "Ann"})
    second = states.set("users", "u1", {"name": "Bob"})
    assert second.old_value == {"name": "Ann"} and second["new_value"] == {"name": "Bob"}
    states.set("users", "u2", "a bare string")
    states.set("config", "theme", "dark")
    assert states.list("users") == [{"name": "Bob"}, "a bare string"]
    assert states.get_group("users") == states.list("users")
    assert states.list_groups() == ["config", "users"]
    assert states.delete("users", "u1") == {"name": "Bob"}
    assert states.delete("users", "u1") is None
    states.clear("users")
    assert states.list("users") == [] and states.get("config", "theme") == "dark"


async def test_the_api_is_awaitable_in_async_code(states: StateManager) -> None:
    await states.set("async", "k", [1, 2])
    assert await states.get("async", "k") == [1, 2]
    result = await states.update("async", "k", [{"type": "set", "value": {"replaced": True}}])
    assert result.new_value == {"replaced": True}


def test_update_operations(states: StateManager) -> None:
    states.set("doc", "d", {"a": {"b": 1}, "tags": ["x"], "gone": 1})
    result = states.update("doc", "d", [
        {"type": "set", "path": "a.c", "value": 2},
        {"type": "merge", "path": "a", "value": {"d": 3}},
        {"type": "increment", "path": "count", "value": 5},
        {"type": "decrement", "path": "count", "value": 2},
        {"type": "increment", "path": "a.b"},
        {"type": "remove", "path": "gone"},
        {"type": "delete", "path": "missing"},
    ])
    assert result.old_value == {"a": {"b": 1}, "tags": ["x"], "gone": 1}
    assert result.new_value == {"a": {"b": 2, "c": 2, "d": 3}, "tags": ["x"], "count": 3}
    assert states.update("doc", "new", [{"type": "increment", "path": "n"}]).new_value == {"n": 1}
    assert states.update("doc", "d", [{"type": "merge", "value": {"top": True}}]).new_value["top"] is True


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.set("s", "k", {"bad": object()}), "not JSON-serialisable"),
        (lambda s: s.set("s", "k", float("nan")), "not JSON-serialisable"),
        (lambda s: s.set("s", "k", {"name": "a\x00b"}), "NUL character"),
        (lambda s: s.set("", "k", 1), "group must be a non-empty string"),
        (lambda s: s.set("s", "", 1), "key must be a non-empty string"),
        (lambda s: s.update("s", "k", [{"type": "explode", "path": "x"}]), "unknown update operation 'explode'"),
        (lambda s: s.update("s", "k", [{"type": "set", "path": "a.b", "value": 1}]), "non-object at a"),
        (lambda s: s.update("s", "k", [{"type": "increment", "path": "a", "value": "x"}]), "needs numbers"),
        (lambda s: s.update("s", "k", {"type": "set"}), "must be a list"),
    ],
)
def test_bad_input_is_a_clear_error_and_writes_nothing(states: StateManager, call: Any, message: str) -> None:
    states.set("s", "k", {"a": 5})
    with pytest.raises(InvalidOperation, match=message):
        call(states)
    assert states.get("s", "k") == {"a": 5}
    assert StateEntry.objects.count() == 1


CONCURRENT_SCRIPT = textwrap.dedent(
    """
    import sys, django
    django.setup()
    from motia_django.state.manager import StateManager
    states = StateManager()
    worker, ops = int(sys.argv[1]), int(sys.argv[2])
    for _ in range(ops):
        states.update("race", "counter", [{"type": "increment", "path": "n", "value": 1}])
        states.update("race", "merged", [{"type": "merge", "value": {f"w{worker}": _ + 1}}])
    """
)


@pytest.mark.slow
def test_concurrent_updates_from_four_processes_lose_nothing(tmp_path: Path) -> None:
    script = tmp_path / "hammer.py"
    script.write_text(CONCURRENT_SCRIPT)
    env = child_env()
    procs = [subprocess.Popen([sys.executable, str(script), str(n), "500"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for n in range(4)]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outputs
    assert not any("database is locked" in out for out in outputs)
    states = StateManager()
    assert states.get("race", "counter") == {"n": 2000}
    assert states.get("race", "merged") == {"w0": 500, "w1": 500, "w2": 500, "w3": 500}


def _events() -> dict[str, Any]:
    return dict(StateEntry.objects.filter(group="state-events").values_list("key", "value"))


@pytest.mark.slow
def test_state_triggers_fire_for_each_event_type(start_worker: Any) -> None:
    start_worker()
    client = Client()
    created = client.put("/state/watched/k1", json.dumps({"v": 1}), content_type="application/json")
    client.put("/state/watched/k1", json.dumps({"v": 2}), content_type="application/json")
    client.delete("/state/watched/k1")
    client.put("/state/ignored/k9", json.dumps({"v": 9}), content_type="application/json")
    wait_until(lambda: len(_events()) == 3, 30, what="three state events")
    events = _events()
    assert events["k1-created"] == {"old": None, "new": {"v": 1}, "trace": created["X-Trace-Id"], "type": "state",
                                    "is_state": True}
    assert events["k1-updated"]["old"] == {"v": 1} and events["k1-updated"]["new"] == {"v": 2}
    assert events["k1-deleted"]["old"] == {"v": 2} and events["k1-deleted"]["new"] is None
    wait_until(lambda: Execution.objects.filter(step="state-watcher", status="skipped").exists(), 10,
               what="the ignored scope to be skipped by the condition")
    assert "k9-created" not in _events()


@pytest.mark.slow
def test_a_change_larger_than_a_message_still_triggers(start_worker: Any) -> None:
    """Old and new value together exceed MAX_MESSAGE_BYTES: the write succeeds and the trigger sees both."""
    start_worker()
    client = Client()
    first, second = "a" * 200_000, "b" * 200_000
    assert client.put("/state/watched/big", json.dumps({"blob": first}),
                      content_type="application/json").status_code == 200
    assert client.put("/state/watched/big", json.dumps({"blob": second}),
                      content_type="application/json").status_code == 200
    wait_until(lambda: "big-updated" in _events(), 30, what="the large change's trigger")
    updated = _events()["big-updated"]
    assert updated["old"] == {"blob": first} and updated["new"] == {"blob": second}
    assert ChangePayload.objects.exists()  # the update travelled by reference


@pytest.mark.slow
def test_rolled_back_writes_fire_nothing(start_worker: Any) -> None:
    start_worker()
    states = StateManager()
    with pytest.raises(RuntimeError), transaction.atomic():
        states.set("watched", "ghost", 1)
        raise RuntimeError("roll back")
    states.set("watched", "real", 1)
    wait_until(lambda: "real-created" in _events(), 30, what="the committed write's trigger")
    assert "ghost-created" not in _events()
    assert not Execution.objects.filter(trigger_type="state", step="state-watcher").exclude(
        status__in=["succeeded", "skipped"]).exists()


@pytest.mark.slow
def test_a_handler_writing_what_it_watches_is_stopped(start_worker: Any) -> None:
    worker = start_worker()
    StateManager().set("loop", "counter", {"n": 0})
    # MOTIA["MAX_TRIGGER_DEPTH"] is 10: the first write and nine of the handler's own writes fire it
    wait_until(lambda: "stopped a runaway trigger chain" in worker.output(), 60, what="the chain to be stopped")
    # the line is logged inside the tenth write's transaction, before it commits
    wait_until(lambda: StateManager().get("loop", "counter") == {"n": 10}, 10, what="the tenth write to commit")
    wait_until(lambda: Execution.objects.filter(step="state-looper", status="succeeded").count() == 10, 10,
               what="ten execution records")


@pytest.mark.slow
def test_admin_edits_go_through_the_api_and_fire_triggers(start_worker: Any, admin_client: Client) -> None:
    start_worker()
    StateManager().set("watched", "adm", {"v": 1})
    wait_until(lambda: "adm-created" in _events(), 30, what="created event")
    entry = StateEntry.objects.get(group="watched", key="adm")
    page = admin_client.get(f"/admin/motia_django/stateentry/{entry.pk}/change/")
    assert page.status_code == 200 and b"&quot;v&quot;: 1" in page.content
    response = admin_client.post(f"/admin/motia_django/stateentry/{entry.pk}/change/",
                                 {"group": "watched", "key": "adm", "value": json.dumps({"v": 2})})
    assert response.status_code == 302
    wait_until(lambda: "adm-updated" in _events(), 30, what="updated event from the admin")
    assert _events()["adm-updated"]["old"] == {"v": 1} and _events()["adm-updated"]["new"] == {"v": 2}
    response = admin_client.post(f"/admin/motia_django/stateentry/{entry.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    wait_until(lambda: "adm-deleted" in _events(), 30, what="deleted event from the admin")


def test_admin_lists_and_searches_state(admin_client: Client) -> None:
    StateManager().set("users", "u1", {"name": "Ann"})
    StateManager().set("config", "theme", "dark")
    def listed(query: str) -> list[tuple[str, str]]:
        page = admin_client.get(f"/admin/motia_django/stateentry/?{query}")
        assert page.status_code == 200
        return [(entry.group, entry.key) for entry in page.context_data["cl"].result_list]

    assert listed("q=theme") == [("config", "theme")]
    assert listed("group=users") == [("users", "u1")]


def test_state_admin_is_staff_only(client: Client) -> None:
    response = client.get("/admin/motia_django/stateentry/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
