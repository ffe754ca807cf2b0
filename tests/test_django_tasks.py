"""Django 6's ``@task`` functions on ``MotiaTaskBackend``, run by a real Celery worker.

* an enqueued task runs on the worker and its result, return value and
  execution records are stored; async task functions are awaited;
* a failing task is retried under the backend's policy, ends FAILED with its
  errors and a dead letter, and runs again when the letter is replayed;
* an enqueue in a rolled-back transaction sends nothing, one in a committed
  transaction is sent on commit;
* ``run_after`` holds the task back until it is due;
* the ``motia`` fixture captures and drains tasks in-process, as it does messages.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("django.tasks", reason="django.tasks (and MotiaTaskBackend) need Django 6.0")

from django.core.management import call_command  # noqa: E402
from django.db import transaction  # noqa: E402
from django.tasks import TaskContext, TaskResult, TaskResultStatus, default_task_backend, task  # noqa: E402
from django.tasks.exceptions import InvalidTask, InvalidTaskBackend, TaskResultDoesNotExist  # noqa: E402
from django.utils import timezone  # noqa: E402

from motia_django.context import FlowContext  # noqa: E402
from motia_django.django_tasks import MotiaTaskBackend  # noqa: E402
from motia_django.execution import run_handler  # noqa: E402
from motia_django.models import DeadLetter, Execution, OutboxMessage, TaskRecord  # noqa: E402
from motia_django.registry import Binding  # noqa: E402
from motia_django.steps.definition import StepDefinition  # noqa: E402

from .conftest import ROOT, Process, wait_until  # noqa: E402

BACKEND = "motia_django.django_tasks.MotiaTaskBackend"
#: two retries, 0.2 s apart: a failing task reaches its dead letter within a second
TASKS = {"default": {"BACKEND": BACKEND, "QUEUES": ["default", "reports"],
                     "OPTIONS": {"queue": {"maxRetries": 2, "backoffType": "fixed", "backoffDelayMs": 200}}}}
#: the worker's settings: the tests' own, with ``TASKS``
WORKER_SETTINGS = f"from tests.settings import *  # noqa: F403\n\nTASKS = {TASKS!r}\n"


@task
def add(a: int, b: int) -> dict[str, int]:
    return {"sum": a + b}


@task
async def shout(text: str) -> str:
    return text.upper()


@task(takes_context=True)
def fails_until(context: TaskContext, marker: str) -> int:
    """Fails while ``marker`` does not exist; then returns the attempt it succeeded on."""
    if not Path(marker).exists():
        raise ValueError(f"no {marker} yet")
    return context.attempt


@pytest.fixture
def tasks_settings(settings: Any) -> None:
    settings.TASKS = TASKS


@pytest.fixture
def worker(tasks_settings: None, start_worker: Callable[..., Process], tmp_path: Path) -> Iterator[Process]:
    """A real worker whose settings configure ``MotiaTaskBackend``."""
    (tmp_path / "worker_tasks_settings.py").write_text(WORKER_SETTINGS)
    yield start_worker(DJANGO_SETTINGS_MODULE="worker_tasks_settings", PYTHONPATH=f"{tmp_path}:{ROOT}")


def finished(result: TaskResult, timeout: float = 30) -> TaskResult:
    def done() -> bool:
        result.refresh()
        return result.is_finished

    wait_until(done, timeout, what=lambda: f"task {result.id} to finish (status {result.status})")
    return result


def test_an_enqueued_task_runs_on_the_worker_and_its_result_is_stored(worker: Process) -> None:
    result = add.enqueue(2, b=3)
    assert result.status == TaskResultStatus.READY and result.enqueued_at is not None
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == {"sum": 5}
    assert result.args == [2] and result.kwargs == {"b": 3} and result.errors == []
    assert result.attempts == 1 and result.worker_ids[0].startswith("w1@")
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert result.last_attempted_at == result.started_at
    stored = default_task_backend.get_result(result.id)
    assert stored.return_value == {"sum": 5} and stored.task.func is add.func
    record = TaskRecord.objects.get(pk=result.id)
    wait_until(lambda: Execution.objects.filter(step="task:tests.test_django_tasks.add").exists(),
               what="the execution record")
    execution = Execution.objects.get(step="task:tests.test_django_tasks.add")
    assert (execution.status, execution.trace_id, execution.attempt) == ("succeeded", record.trace_id, 1)
    assert execution.topic == "task.default.default"


def test_an_async_task_is_awaited_on_its_own_queue(worker: Process) -> None:
    result = finished(shout.using(queue_name="reports").enqueue("quiet"))
    assert (result.status, result.return_value) == (TaskResultStatus.SUCCESSFUL, "QUIET")
    assert result.task.queue_name == "reports"
    assert "motia.task.default.reports" in worker.output()


def test_a_failing_task_is_retried_then_fails_with_a_dead_letter_and_replay_runs_it_again(
    worker: Process, tmp_path: Path
) -> None:
    marker = tmp_path / "may-succeed"
    result = finished(fails_until.enqueue(str(marker)))
    assert result.status == TaskResultStatus.FAILED and result.attempts == 3
    assert [error.exception_class for error in result.errors] == [ValueError] * 3
    assert "no " in result.errors[-1].traceback and "fails_until" in result.errors[-1].traceback
    with pytest.raises(ValueError, match="Task failed"):
        _ = result.return_value
    step = "task:tests.test_django_tasks.fails_until"
    assert sorted(Execution.objects.filter(step=step).values_list("attempt", "status")) == [
        (1, "failed"), (2, "failed"), (3, "dead")]
    letter = DeadLetter.objects.get(step=step)
    assert letter.attempts == 3 and letter.error_type == "ValueError" and letter.payload["resultId"] == result.id
    listing = io.StringIO()
    call_command("motia_dlq", "list", stdout=listing)
    assert step in listing.getvalue()

    marker.touch()
    call_command("motia_dlq", "replay", str(letter.pk), stdout=io.StringIO())
    finished(result)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 4  # the fourth attempt of this result, the first of the replay
    assert len(result.errors) == 3 and not DeadLetter.objects.exists()


def test_an_enqueue_in_a_rolled_back_transaction_sends_nothing(worker: Process) -> None:
    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        abandoned = add.enqueue(1, 1)
        assert OutboxMessage.objects.exists()  # waiting for the commit
        raise Abandon
    with transaction.atomic():
        committed = add.enqueue(20, 22)
    assert finished(committed).return_value == {"sum": 42}
    assert not TaskRecord.objects.filter(pk=abandoned.id).exists() and not OutboxMessage.objects.exists()
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(abandoned.id)
    runs = Execution.objects.filter(step="task:tests.test_django_tasks.add")
    wait_until(runs.exists, what="the execution record")  # written in batches
    assert runs.get().message_id != "" and TaskRecord.objects.count() == 1


def test_run_after_holds_the_task_until_it_is_due(worker: Process) -> None:
    due = timezone.now() + timedelta(seconds=3)
    result = add.using(run_after=due).enqueue(1, 2)
    assert result.task.run_after == due
    eta = OutboxMessage.objects.get().eta  # kept back, in the outbox
    assert eta is not None and due <= eta < due + timedelta(seconds=1)
    assert default_task_backend.get_result(result.id).status == TaskResultStatus.READY
    finished(result)
    assert result.return_value == {"sum": 3} and result.started_at >= due


def test_the_motia_fixture_captures_and_drains_tasks_in_process(tasks_settings: None, motia: Any) -> None:
    result = add.enqueue(4, 5)
    [message] = motia.enqueued("task.default.default")
    assert message.data == {"resultId": result.id, "args": [4, 5], "kwargs": {}}
    motia.drain()
    result.refresh()
    assert (result.status, result.return_value, result.attempts) == (TaskResultStatus.SUCCESSFUL, {"sum": 9}, 1)


@pytest.mark.django_db
def test_a_task_enqueued_by_a_step_joins_the_step_s_trace(tasks_settings: None) -> None:
    step = StepDefinition({"name": "enqueuer", "triggers": [{"type": "queue", "topic": "t.enqueuer"}]},
                          lambda data, ctx: add.enqueue(1, 1))
    binding = Binding(step, step.config.triggers[0], 0, "t.enqueuer")
    result = run_handler(step, None, FlowContext(step, binding.trigger_info(), "trace-of-the-step", None, 2))
    assert TaskRecord.objects.get(pk=result.id).trace_id == "trace-of-the-step"
    [row] = OutboxMessage.objects.all()  # sent when the test's transaction commits
    assert (row.envelope["traceId"], row.envelope["source"], row.envelope["depth"]) == ("trace-of-the-step",
                                                                                         "enqueuer", 3)


@pytest.mark.django_db
def test_priority_is_refused_and_options_are_validated(tasks_settings: None) -> None:
    with pytest.raises(InvalidTask, match="priority"):
        add.using(priority=10)
    with pytest.raises(InvalidTaskBackend, match="unknown OPTIONS"):
        MotiaTaskBackend("other", {"OPTIONS": {"retries": 3}})
    with pytest.raises(InvalidTaskBackend, match="FIFO"):
        MotiaTaskBackend("other", {"OPTIONS": {"queue": {"type": "fifo"}}})
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result("missing")
