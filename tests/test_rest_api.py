"""The operator REST API (``/admin/motia/api/``): permissions, filters, pages, replays, writes, a live round trip."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.test import Client, override_settings
from django.utils import timezone
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from motia_django.models import DeadLetter, Execution, LogRecord, StateEntry, StreamItem

from .conftest import start_uvicorn, wait_until

pytestmark = pytest.mark.django_db(transaction=True)

API = "/admin/motia/api"

#: Every endpoint, with the model permissions a staff user needs for it (none: staff is enough).
ENDPOINTS: list[tuple[str, str, tuple[str, ...]]] = [
    ("get", "/executions/", ("view_execution",)),
    ("get", "/executions/1/", ("view_execution",)),
    ("get", "/traces/", ("view_execution",)),
    ("get", "/traces/t-1/", ("view_execution",)),
    ("get", "/logs/", ("view_logrecord",)),
    ("get", "/logs/1/", ("view_logrecord",)),
    ("get", "/dead-letters/", ("view_deadletter",)),
    ("get", "/dead-letters/1/", ("view_deadletter",)),
    ("delete", "/dead-letters/1/", ("delete_deadletter",)),
    ("post", "/dead-letters/1/replay/", ("delete_deadletter",)),
    ("post", "/dead-letters/replay/", ("delete_deadletter",)),
    ("get", "/state/", ("view_stateentry",)),
    ("get", "/state/g/k/", ("view_stateentry",)),
    ("put", "/state/g/k/", ("change_stateentry",)),
    ("patch", "/state/g/k/", ("change_stateentry",)),
    ("delete", "/state/g/k/", ("delete_stateentry",)),
    ("get", "/streams/", ("view_streamitem",)),
    ("get", "/streams/notes/g/i/", ("view_streamitem",)),
    ("put", "/streams/notes/g/i/", ("change_streamitem",)),
    ("delete", "/streams/notes/g/i/", ("delete_streamitem",)),
    ("get", "/queues/", ("view_execution", "view_deadletter")),
    ("get", "/steps/", ()),
    ("get", "/steps/state-watcher/", ()),
    ("get", "/flows/", ()),
    ("get", "/schema/", ()),
]


def user(*codenames: str, staff: bool = True) -> User:
    account = User.objects.create_user(f"op-{uuid.uuid4().hex[:8]}", password="pw", is_staff=staff)
    found = Permission.objects.filter(content_type__app_label="motia_django", codename__in=codenames)
    assert found.count() == len(set(codenames)), codenames
    account.user_permissions.set(found)
    return account


def api(account: User | None = None) -> APIClient:
    client = APIClient()
    if account is not None:
        client.force_login(account)
    return client


def execution(step: str, trace_id: str, status: str = "succeeded", minutes_ago: float = 0, **fields: Any) -> Execution:
    return Execution.objects.create(trace_id=trace_id, step=step, trigger_type=fields.pop("trigger_type", "queue"),
                                    binding=f"{step}#0", status=status,
                                    started_at=timezone.now() - timedelta(minutes=minutes_ago), duration_ms=5,
                                    **fields)


def bury(step: str, binding: str, topic: str, data: dict[str, Any], error_type: str = "RuntimeError") -> DeadLetter:
    message_id = str(uuid.uuid4())
    envelope = {"id": message_id, "topic": topic, "data": data, "traceId": f"trace-{message_id[:8]}", "attempt": 3}
    return DeadLetter.objects.create(step=step, topic=topic, binding=binding, message_id=message_id,
                                     trace_id=envelope["traceId"], payload=data, envelope=envelope,
                                     error=f"{error_type}: boom", error_type=error_type, traceback="Traceback ...",
                                     attempts=3)


# -- permissions -------------------------------------------------------------------------------


def call(client: APIClient, method: str, path: str) -> Any:
    body = {"value": {"x": 1}} if method == "put" else {"operations": [{"type": "set", "path": "x", "value": 1}]} \
        if method == "patch" else {"ids": [1]} if path.endswith("/dead-letters/replay/") else None
    return getattr(client, method)(API + path, body, format="json")


@pytest.mark.parametrize(("method", "path", "codenames"), ENDPOINTS)
def test_every_endpoint_needs_staff_and_the_model_permissions(method: str, path: str,
                                                              codenames: tuple[str, ...]) -> None:
    assert call(api(), method, path).status_code == 403, "anonymous"
    everything = {c for _, _, needed in ENDPOINTS for c in needed}
    assert call(api(user(*everything, staff=False)), method, path).status_code == 403, "not staff"
    allowed = call(api(user(*codenames)), method, path).status_code
    assert allowed not in (401, 403), f"staff with {codenames}: {allowed}"
    for missing in codenames:
        others = everything - {missing}
        assert call(api(user(*others)), method, path).status_code == 403, f"staff without {missing}"


def test_anonymous_is_told_to_authenticate() -> None:
    response = api().get(f"{API}/executions/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Authentication credentials were not provided."}


def test_permission_classes_come_from_the_motia_settings() -> None:
    plain = user(staff=False)
    assert api(plain).get(f"{API}/executions/").status_code == 403
    with override_settings(MOTIA={**settings.MOTIA,
                                  "REST_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"]}):
        assert api(plain).get(f"{API}/executions/").status_code == 200
        assert api().get(f"{API}/executions/").status_code == 403


def test_a_permission_class_that_cannot_be_imported_is_named() -> None:
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(MOTIA={**settings.MOTIA, "REST_PERMISSION_CLASSES": ["nowhere.Nothing"]}):
        with pytest.raises(ImproperlyConfigured, match=r"REST_PERMISSION_CLASSES.*'nowhere.Nothing'"):
            api(user("view_execution")).get(f"{API}/executions/")


# -- executions, traces, logs ------------------------------------------------------------------


def test_executions_filter_by_step_status_trace_and_time() -> None:
    execution("rest-a", "rt-1", minutes_ago=30)
    execution("rest-a", "rt-2", status="failed", minutes_ago=10, error="RuntimeError: no")
    execution("rest-b", "rt-2", minutes_ago=5)
    client = api(user("view_execution"))

    def steps(query: str) -> list[tuple[str, str]]:
        response = client.get(f"{API}/executions/?{query}")
        assert response.status_code == 200, response.content
        return [(row["step"], row["trace_id"]) for row in response.json()["results"]]

    assert steps("step=rest-a") == [("rest-a", "rt-2"), ("rest-a", "rt-1")]  # newest first
    assert steps("status=failed") == [("rest-a", "rt-2")]
    assert steps("trace_id=rt-2") == [("rest-b", "rt-2"), ("rest-a", "rt-2")]
    since = (timezone.now() - timedelta(minutes=20)).isoformat()
    until = (timezone.now() - timedelta(minutes=7)).isoformat()
    assert steps(f"since={since}&until={until}") == [("rest-a", "rt-2")]
    assert client.get(f"{API}/executions/?status=exploded").json() == {
        "status": ["must be one of running, succeeded, failed, skipped, dead, not 'exploded'"]}
    assert "ISO 8601" in client.get(f"{API}/executions/?since=yesterday").json()["since"][0]


def test_lists_are_paginated() -> None:
    for number in range(5):
        execution("rest-page", f"rp-{number}", minutes_ago=number)
    client = api(user("view_execution"))
    first = client.get(f"{API}/executions/?step=rest-page&page_size=2").json()
    assert first["count"] == 5 and [r["trace_id"] for r in first["results"]] == ["rp-0", "rp-1"]
    assert first["previous"] is None and "page=2" in first["next"]
    last = client.get(f"{API}/executions/?step=rest-page&page_size=2&page=3").json()
    assert [r["trace_id"] for r in last["results"]] == ["rp-4"] and last["next"] is None
    assert client.get(f"{API}/executions/?step=rest-page&page=9").status_code == 404


def test_traces_summarise_and_show_logs_only_with_their_permission() -> None:
    execution("rest-root", "rt-ok", minutes_ago=3, trigger_type="http")
    execution("rest-child", "rt-ok", minutes_ago=2)
    execution("rest-root", "rt-bad", minutes_ago=1, trigger_type="http")
    execution("rest-child", "rt-bad", status="dead", minutes_ago=0.5)
    LogRecord.objects.create(trace_id="rt-ok", step="rest-child", level=20, message="done", created_at=timezone.now())
    client = api(user("view_execution"))

    listed = client.get(f"{API}/traces/?trace_id=rt-").json()
    assert [(t["trace_id"], t["status"], t["root"], t["executions"]) for t in listed["results"]] == [
        ("rt-bad", "failed", "rest-root", 2), ("rt-ok", "succeeded", "rest-root", 2)]
    assert [t["trace_id"] for t in client.get(f"{API}/traces/?trace_id=rt-&status=succeeded").json()["results"]] \
        == ["rt-ok"]
    assert client.get(f"{API}/traces/?step=rest-nothing").json()["count"] == 0

    detail = client.get(f"{API}/traces/rt-ok/").json()
    assert [e["step"] for e in detail["executions"]] == ["rest-root", "rest-child"]
    assert detail["logs"] is None and detail["dead_letters"] is None
    detail = api(user("view_execution", "view_logrecord")).get(f"{API}/traces/rt-ok/").json()
    assert [log["message"] for log in detail["logs"]] == ["done"]
    assert client.get(f"{API}/traces/rt-missing/").status_code == 404


def test_logs_filter_by_trace_and_level() -> None:
    now = timezone.now()
    for level, message in ((10, "debug"), (20, "info"), (40, "error")):
        LogRecord.objects.create(trace_id="rl-1", step="rest-log", level=level, message=message, created_at=now)
    LogRecord.objects.create(trace_id="rl-2", step="rest-log", level=40, message="other", created_at=now)
    client = api(user("view_logrecord"))
    rows = client.get(f"{API}/logs/?trace_id=rl-1&level=20").json()["results"]
    assert [(r["message"], r["level_name"]) for r in rows] == [("info", "INFO"), ("error", "ERROR")]
    assert client.get(f"{API}/logs/?level=high").json() == {"level": ["must be an integer, not 'high'"]}


# -- dead letters ------------------------------------------------------------------------------


def test_dead_letters_list_filter_show_and_delete() -> None:
    kept = bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed", {"id": "x"})
    gone = bury("retry-validated", "retry-validated#0:t.validated", "t.validated", {"id": "y"}, "InvalidInput")
    client = api(user("view_deadletter", "delete_deadletter"))
    listed = client.get(f"{API}/dead-letters/?error_type=InvalidInput").json()["results"]
    assert [row["id"] for row in listed] == [gone.pk] and "envelope" not in listed[0]
    detail = client.get(f"{API}/dead-letters/{gone.pk}/").json()
    assert detail["envelope"]["data"] == {"id": "y"} and detail["traceback"] == "Traceback ..."
    assert api(user("view_deadletter", "change_deadletter")).delete(f"{API}/dead-letters/{gone.pk}/").status_code \
        == 403
    assert client.delete(f"{API}/dead-letters/{gone.pk}/").status_code == 204
    assert list(DeadLetter.objects.values_list("id", flat=True)) == [kept.pk]


def test_replaying_a_letter_of_a_removed_step_is_a_conflict_and_keeps_it() -> None:
    letter = bury("rest-gone", "rest-gone#0:t.gone", "t.gone", {"id": "z"})
    response = api(user("delete_deadletter")).post(f"{API}/dead-letters/{letter.pk}/replay/")
    assert response.status_code == 409
    assert "no longer exists" in response.json()["refused"][str(letter.pk)]
    assert DeadLetter.objects.filter(pk=letter.pk).exists()


def test_bulk_replay_needs_ids_or_all() -> None:
    client = api(user("delete_deadletter"))
    for body in ({}, {"ids": [1], "all": True}, {"ids": []}, {"ids": ["x"]}):
        assert client.post(f"{API}/dead-letters/replay/", body, format="json").status_code == 400, body


@pytest.mark.slow
@pytest.mark.services
def test_replayed_letters_run_again_in_a_worker(start_worker: Any) -> None:
    one = bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed", {"id": "rest-replay-1"})
    two = bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed", {"id": "rest-replay-2"})
    other = bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed", {"id": "rest-replay-3"}, "InvalidInput")
    start_worker()
    client = api(user("delete_deadletter"))
    response = client.post(f"{API}/dead-letters/{one.pk}/replay/")
    assert response.status_code == 200 and response.json() == {"replayed": [one.pk], "refused": {}, "missing": []}
    response = client.post(f"{API}/dead-letters/replay/?error_type=RuntimeError", {"all": True}, format="json")
    assert response.json() == {"replayed": [two.pk], "refused": {}, "missing": []}
    assert client.post(f"{API}/dead-letters/replay/", {"ids": [one.pk]}, format="json").json()["missing"] == [one.pk]

    def calls(item: str) -> Any:
        row = StateEntry.objects.filter(group="flaky", key=item).first()
        return row.value["calls"] if row else None

    wait_until(lambda: calls("rest-replay-1") == 1 and calls("rest-replay-2") == 1, 30, what="both replays to run")
    assert calls("rest-replay-3") is None and list(DeadLetter.objects.values_list("id", flat=True)) == [other.pk]
    replayed = Execution.objects.filter(step="retry-fixed", trace_id=one.trace_id)
    wait_until(lambda: replayed.filter(status="succeeded").exists(), 10, what="the replay's execution record")


# -- state and streams -------------------------------------------------------------------------


def test_state_read_write_update_delete() -> None:
    client = api(user("view_stateentry", "change_stateentry", "delete_stateentry"))
    item = f"{API}/state/rest-scope/a/b/"  # a key may hold "/"
    assert client.get(item).status_code == 404
    assert client.put(item, {"value": {"n": 1}}, format="json").json() == {"old_value": None, "new_value": {"n": 1}}
    patched = client.patch(item, {"operations": [{"type": "increment", "path": "n", "value": 2}]}, format="json")
    assert patched.json() == {"old_value": {"n": 1}, "new_value": {"n": 3}}
    assert client.get(item).json()["value"] == {"n": 3}
    assert StateEntry.objects.get(group="rest-scope", key="a/b").value == {"n": 3}
    assert [row["key"] for row in client.get(f"{API}/state/?group=rest-scope").json()["results"]] == ["a/b"]
    refused = client.patch(item, {"operations": [{"type": "explode", "path": "n"}]}, format="json")
    assert refused.status_code == 400 and "unknown update operation" in refused.json()["detail"]
    assert client.put(item, {"nothing": 1}, format="json").status_code == 400
    assert client.delete(item).status_code == 204
    assert client.delete(item).status_code == 404
    assert not StateEntry.objects.filter(group="rest-scope").exists()


@pytest.mark.slow
@pytest.mark.services
def test_a_state_write_fires_the_state_trigger_in_a_worker(start_worker: Any) -> None:
    start_worker()
    client = api(user("change_stateentry"))
    assert client.put(f"{API}/state/watched/rest-k1/", {"value": {"v": 1}}, format="json").status_code == 200
    wait_until(lambda: StateEntry.objects.filter(group="state-events", key__startswith="rest-k1-").exists(), 30,
               what="the state-watcher step to record the change")
    event = StateEntry.objects.get(group="state-events", key__startswith="rest-k1-")
    assert event.value["new"] == {"v": 1} and event.value["type"] == "state"


def test_stream_items_are_validated_by_their_stream() -> None:
    client = api(user("view_streamitem", "change_streamitem", "delete_streamitem"))
    item = f"{API}/streams/notes/rest-group/n1/"
    assert client.put(item, {"value": {"title": "buy milk"}}, format="json").status_code == 200
    assert client.get(item).json()["value"] == {"title": "buy milk"}
    refused = client.put(item, {"value": {"done": "nope"}}, format="json")
    assert refused.status_code == 400 and "title" in json.dumps(refused.json())
    assert client.put(f"{API}/streams/rest-undeclared/g/i/", {"value": {}}, format="json").status_code == 404
    listed = client.get(f"{API}/streams/?stream=notes&group=rest-group").json()["results"]
    assert [(r["key"], r["value"]) for r in listed] == [("n1", {"title": "buy milk"})]
    assert client.delete(item).status_code == 204
    assert not StreamItem.objects.filter(stream="notes", group="rest-group").exists()


# -- queues, steps, flows, schema --------------------------------------------------------------


@pytest.mark.services
def test_queue_depths_come_from_the_broker(broker_url: str) -> None:
    Client().post("/fanout", json.dumps({"count": 2, "tag": "rest"}), content_type="application/json")
    body = api(user("view_execution", "view_deadletter")).get(f"{API}/queues/").json()
    assert body["broker_error"] is None
    fanout = next(q for q in body["queues"] if q["name"] == "motia.t.fanout")
    assert fanout["messages"] == 4  # two messages for each of the two subscribers
    assert {s["name"] for s in fanout["steps"]} == {"fanout-a", "fanout-b"}


def test_steps_and_flows_come_from_the_registry() -> None:
    client = api(user())
    listed = client.get(f"{API}/steps/").json()
    assert "state-watcher" in {step["name"] for step in listed["steps"]} and "errors" in listed
    watcher = client.get(f"{API}/steps/state-watcher/").json()
    assert watcher["triggers"] == [{"type": "state", "conditional": True}]
    assert client.get(f"{API}/steps/rest-nothing/").status_code == 404
    flows = client.get(f"{API}/flows/").json()
    assert flows and {"name", "nodes", "edges"} <= set(flows[0])
    named = client.get(f"{API}/flows/{flows[0]['name']}/").json()
    assert named == flows[0]
    assert client.get(f"{API}/flows/rest-nothing/").status_code == 404


def test_the_schema_is_a_valid_openapi_document() -> None:
    response = api(user()).get(f"{API}/schema/")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    assert f"{API}/dead-letters/{{id}}/replay/" in document["paths"]
    names = [p["name"] for p in document["paths"][f"{API}/executions/"]["get"]["parameters"]]
    assert {"page", "page_size", "step", "status", "trace_id", "since", "until"} <= set(names)


# -- a live server -----------------------------------------------------------------------------


@pytest.mark.slow
def test_round_trip_through_a_live_server(tmp_path: Path) -> None:
    User.objects.create_superuser("rest-live", "live@example.com", "live-pw")
    execution("rest-live", "rt-live")
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    try:
        auth = ("rest-live", "live-pw")
        listed = httpx.get(f"{base}{API}/executions/?step=rest-live", auth=auth)
        assert listed.status_code == 200 and [r["trace_id"] for r in listed.json()["results"]] == ["rt-live"]
        written = httpx.put(f"{base}{API}/state/rest-live/k/", json={"value": [1, 2]}, auth=auth)
        assert written.status_code == 200 and written.json()["new_value"] == [1, 2]
        assert httpx.get(f"{base}{API}/state/rest-live/k/", auth=auth).json()["value"] == [1, 2]
        assert httpx.get(f"{base}{API}/executions/", auth=("rest-live", "wrong")).status_code == 403
        assert httpx.get(f"{base}{API}/executions/").status_code == 403
    finally:
        proc.stop()
    assert StateEntry.objects.get(group="rest-live", key="k").value == [1, 2]
