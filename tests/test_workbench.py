"""Workbench pages through Django's test client: overview, traces, one trace, queues."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.utils import timezone

from motia_django.models import DeadLetter, Execution, LogRecord, TaskRecord
from motia_django.tracing.recorder import flush

from .conftest import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def test_pages_are_staff_only(client: Client) -> None:
    for url in ("/admin/motia/", "/admin/motia/traces/", "/admin/motia/queues/", "/admin/motia/traces/x/"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response["Location"], url


def staff_client(*codenames: str) -> Client:
    """Signed in as staff holding only these ``motia_django`` permissions (not a superuser)."""
    staff = User.objects.create_user(f"staff-{User.objects.count()}", password="pw", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(content_type__app_label="motia_django",
                                                         codename__in=codenames))
    client = Client()
    client.force_login(staff)
    return client


def test_record_pages_need_the_view_permissions_not_just_staff() -> None:
    Execution.objects.create(trace_id="wb-perm", step="wb-step", trigger_type="http", binding="wb-step#0",
                             status="succeeded", started_at=timezone.now(), duration_ms=1)
    plain_staff = staff_client()
    for url in ("/admin/motia/traces/", "/admin/motia/traces/wb-perm/", "/admin/motia/queues/"):
        assert plain_staff.get(url).status_code == 403, url
    for url in ("/admin/motia/", "/admin/motia/flows/", "/admin/motia/endpoints/"):
        assert plain_staff.get(url).status_code == 200, url  # the registry: no records
    assert "wb-perm" in staff_client("view_execution").get("/admin/motia/traces/").content.decode()
    assert staff_client("view_execution").get("/admin/motia/queues/").status_code == 403
    assert staff_client("view_execution", "view_deadletter").get("/admin/motia/queues/").status_code == 200


def test_a_trace_shows_logs_and_dead_letters_only_with_their_permissions() -> None:
    started = timezone.now()
    Execution.objects.create(trace_id="wb-logs", step="wb-step", trigger_type="queue", binding="wb-step#0",
                             status="dead", started_at=started, duration_ms=10)
    LogRecord.objects.create(trace_id="wb-logs", step="wb-step", level=20, message="wb secret log line",
                             created_at=started)
    DeadLetter.objects.create(step="wb-step", topic="t", binding="wb-step#0:t", message_id="m", trace_id="wb-logs",
                              envelope={}, error="RuntimeError: x", error_type="WbDeadType", attempts=1)
    executions_only = staff_client("view_execution").get("/admin/motia/traces/wb-logs/").content.decode()
    assert 'data-step="wb-step"' in executions_only
    assert "wb secret log line" not in executions_only and "WbDeadType" not in executions_only
    everything = staff_client("view_execution", "view_logrecord", "view_deadletter").get(
        "/admin/motia/traces/wb-logs/").content.decode()
    assert "wb secret log line" in everything and "WbDeadType" in everything


def test_log_records_have_a_read_only_admin(admin_client: Client) -> None:
    LogRecord.objects.create(trace_id="wb-admin", step="wb-step", level=40, message="wb admin message",
                             data={"k": 1}, created_at=timezone.now())
    listing = admin_client.get("/admin/motia_django/logrecord/").content.decode()
    assert "wb admin message" in listing and "ERROR" in listing and 'href="/admin/motia/traces/wb-admin/"' in listing
    record = LogRecord.objects.get(trace_id="wb-admin")
    detail = admin_client.get(f"/admin/motia_django/logrecord/{record.pk}/change/").content.decode()
    assert "wb admin message" in detail and 'name="message"' not in detail  # shown, not editable
    assert admin_client.get("/admin/motia_django/logrecord/add/").status_code == 403
    assert staff_client().get("/admin/motia_django/logrecord/").status_code == 403
    assert staff_client("view_logrecord").get("/admin/motia_django/logrecord/").status_code == 200


def test_task_results_have_a_read_only_admin(admin_client: Client) -> None:
    TaskRecord.objects.create(id="wb-task-1", backend="default", task_path="reports.build", queue_name="default",
                              trace_id="wb-task-trace", status=TaskRecord.Status.FAILED, args=[3],
                              errors=[{"exception_class_path": "builtins.ValueError", "traceback": "wb task boom"}],
                              worker_ids=["w1", "w2"], enqueued_at=timezone.now())
    listing = admin_client.get("/admin/motia_django/taskrecord/").content.decode()
    assert "reports.build" in listing and "FAILED" in listing and 'href="/admin/motia/traces/wb-task-trace/"' in listing
    detail = admin_client.get("/admin/motia_django/taskrecord/wb-task-1/change/").content.decode()
    assert "wb task boom" in detail and 'name="status"' not in detail  # shown, not editable
    assert admin_client.get("/admin/motia_django/taskrecord/add/").status_code == 403
    assert staff_client().get("/admin/motia_django/taskrecord/").status_code == 403
    assert staff_client("view_taskrecord").get("/admin/motia_django/taskrecord/").status_code == 200


def test_admin_index_links_the_workbench(admin_client: Client) -> None:
    page = admin_client.get("/admin/").content.decode()
    assert 'id="motia-workbench"' in page and 'href="/admin/motia/traces/"' in page


def test_overview_counts_the_registry(admin_client: Client) -> None:
    page = admin_client.get("/admin/motia/").content.decode()
    assert "HTTP route(s)" in page and "Overview" in page


@pytest.mark.slow
def test_a_flow_shows_as_one_trace_with_logs(start_worker: Any, admin_client: Client) -> None:
    start_worker()
    response = Client().post("/orders", json.dumps({"item": "widget", "quantity": 2}), content_type="application/json")
    trace_id = response["X-Trace-Id"]
    flow = ("CreateOrder", "ProcessOrder", "CompleteOrder")
    wait_until(lambda: flush() >= 0 and Execution.objects.filter(trace_id=trace_id, step__in=flow).count() == 3,
               30, what="HTTP and two queue executions")
    wait_until(lambda: LogRecord.objects.filter(trace_id=trace_id, step="CompleteOrder").exists(), 10,
               what="the completing step's log record")

    listing = admin_client.get("/admin/motia/traces/").content.decode()
    assert trace_id[:17] in listing and "CreateOrder" in listing
    assert trace_id[:17] in admin_client.get(f"/admin/motia/traces/?q={trace_id[:8]}").content.decode()
    assert trace_id[:17] not in admin_client.get("/admin/motia/traces/?status=failed").content.decode()
    assert trace_id[:17] in admin_client.get("/admin/motia/traces/?step=CompleteOrder&window=1h").content.decode()

    detail = admin_client.get(f"/admin/motia/traces/{trace_id}/").content.decode()
    order = [detail.index(f'data-step="{name}"') for name in flow]
    assert order == sorted(order)
    assert "Order completed" in detail and "attempt 1" in detail


def test_dead_letters_link_to_their_trace(admin_client: Client) -> None:
    from motia_django.models import DeadLetter

    DeadLetter.objects.create(step="s", topic="t", binding="s#0:t", message_id="m", trace_id="trace-42",
                              envelope={}, error="RuntimeError: x", error_type="RuntimeError", attempts=1)
    page = admin_client.get("/admin/motia_django/deadletter/").content.decode()
    assert 'href="/admin/motia/traces/trace-42/"' in page


def test_failed_executions_show_their_error(admin_client: Client) -> None:
    response = Client().get("/responses/boom")
    flush()
    trace_id = response["X-Trace-Id"]
    assert trace_id[:17] in admin_client.get("/admin/motia/traces/?status=failed").content.decode()
    detail = admin_client.get(f"/admin/motia/traces/{trace_id}/").content.decode()
    assert 'data-status="failed"' in detail and "secret internal detail" in detail


@pytest.mark.services
def test_queues_page_reads_depths_from_the_broker(admin_client: Client, broker_url: str) -> None:
    Client().post("/fanout", json.dumps({"count": 3, "tag": "q"}), content_type="application/json")
    page = admin_client.get("/admin/motia/queues/").content.decode()
    assert 'data-queue="motia.t.fanout"' in page
    row = page[page.index('data-queue="motia.t.fanout"'):]
    depth = row[row.index('class="depth">') + len('class="depth">'):]
    assert depth.split("<")[0].strip() == "6"  # three messages for each of the two subscribers
    assert "fanout-a" in row and "fanout-b" in row
