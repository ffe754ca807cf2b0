"""Task results: each enqueued task's ``TaskRecord``, read as Django's ``TaskResult``.

READY when enqueued, and again after a failed attempt whose retry the queue
runtime scheduled; RUNNING during an attempt; SUCCESSFUL with its return value;
FAILED once its attempts are exhausted, when the dead letter is written.
Replaying that dead letter makes it READY again.  ``task_enqueued``,
``task_started`` and ``task_finished`` are sent as Django's own backends send them.
"""

from __future__ import annotations

import traceback
import uuid
from datetime import datetime
from typing import Any, TypeAlias

from django.db import transaction
from django.dispatch import Signal
from django.tasks import Task, TaskResult, TaskResultStatus
from django.tasks.base import TaskError
from django.tasks.signals import task_enqueued, task_finished, task_started
from django.utils import timezone
from django.utils.json import normalize_json
from django.utils.module_loading import import_string

from ..integrations import send
from ..models import DeadLetter, TaskRecord
from ..signals import dead_letter_replayed, dead_lettered
from .keys import parse_key

__all__ = [
    "AnyResult", "AnyTask", "begin", "connect", "enqueued", "fail_attempt", "load_task", "new_record", "succeed",
    "to_result",
]

#: Django's classes are generic only in their type stubs
AnyTask: TypeAlias = "Task[..., Any]"
AnyResult: TypeAlias = "TaskResult[..., Any]"

#: set on an error the attempt recorded itself, so its dead letter does not record it twice
_RECORDED = "_motia_task_error_recorded"


def load_task(path: str) -> AnyTask:
    """The ``@task`` at ``path`` (``module.function``)."""
    found = import_string(path)
    if not isinstance(found, Task):
        raise TypeError(f"{path} is not a task: decorate it with django.tasks.task")
    return found


def new_record(alias: str, task: AnyTask, args: Any, kwargs: Any, trace_id: str) -> TaskRecord:
    """An unsaved READY record, with its arguments as JSON (``TypeError`` when they are not)."""
    return TaskRecord(
        id=uuid.uuid4().hex, backend=alias, task_path=task.module_path, queue_name=task.queue_name,
        priority=task.priority, trace_id=trace_id, status=TaskRecord.Status.READY, args=normalize_json(args),
        kwargs=normalize_json(kwargs), enqueued_at=timezone.now(), run_after=task.run_after,
    )


def enqueued(record: TaskRecord, task: AnyTask) -> AnyResult:
    """The result ``enqueue()`` returns; ``task_enqueued`` follows once the enqueuing transaction commits."""
    result = to_result(record, task)
    transaction.on_commit(lambda: _announce(task_enqueued, result), robust=True)
    return result


def to_result(record: TaskRecord, task: AnyTask | None = None) -> AnyResult:
    found = task if task is not None else load_task(record.task_path)
    if (found.queue_name, found.run_after, found.backend) != (record.queue_name, record.run_after, record.backend):
        found = found.using(queue_name=record.queue_name, run_after=record.run_after, backend=record.backend)
    result: AnyResult = TaskResult(
        task=found, id=record.pk, status=TaskResultStatus(record.status), enqueued_at=record.enqueued_at,
        started_at=record.started_at, finished_at=record.finished_at, last_attempted_at=record.last_attempted_at,
        args=record.args, kwargs=record.kwargs, backend=record.backend,
        errors=[TaskError(**error) for error in record.errors], worker_ids=list(record.worker_ids),
    )
    object.__setattr__(result, "_return_value", record.return_value)  # how Django's own backends set it
    return result


def begin(result_id: str, worker_id: str, task: AnyTask) -> AnyResult:
    """Mark the result RUNNING for a new attempt by ``worker_id``."""
    now = timezone.now()
    with transaction.atomic():
        record = TaskRecord.objects.select_for_update().get(pk=result_id)
        record.status = TaskRecord.Status.RUNNING
        record.started_at = record.started_at or now
        record.last_attempted_at = now
        record.finished_at = None
        record.worker_ids = [*record.worker_ids, worker_id]
        record.save(update_fields=["status", "started_at", "last_attempted_at", "finished_at", "worker_ids"])
    result = to_result(record, task)
    _announce(task_started, result)
    return result


def succeed(result_id: str, value: Any) -> None:
    now = timezone.now()
    TaskRecord.objects.filter(pk=result_id).update(status=TaskRecord.Status.SUCCESSFUL, return_value=value,
                                                   finished_at=now)
    _announce(task_finished, to_result(TaskRecord.objects.get(pk=result_id)))


def fail_attempt(result_id: str, error: BaseException) -> None:
    """Record the attempt's error; the result waits for its retry, or its dead letter makes it FAILED."""
    _update(result_id, error, TaskRecord.Status.READY, None)
    setattr(error, _RECORDED, True)


def _update(
    result_id: str, error: BaseException | None, status: str, finished_at: datetime | None
) -> TaskRecord | None:
    with transaction.atomic():
        record = TaskRecord.objects.select_for_update().filter(pk=result_id).first()
        if record is None:
            return None
        if error is not None:
            kind = type(error)
            record.errors = [*record.errors, {"exception_class_path": f"{kind.__module__}.{kind.__qualname__}",
                                              "traceback": "".join(traceback.format_exception(error))}]
        record.status, record.finished_at = status, finished_at
        record.save(update_fields=["errors", "status", "finished_at"])
    return record


def _result_id(letter: DeadLetter) -> str | None:
    if parse_key(letter.binding) is None or not isinstance(letter.payload, dict):
        return None
    found = letter.payload.get("resultId")
    return str(found) if found else None


def _on_dead_letter(sender: Any, dead_letter: DeadLetter, error: BaseException, **kwargs: Any) -> None:
    """The task's attempts are exhausted: FAILED, with the error that ended them (if no attempt recorded it)."""
    result_id = _result_id(dead_letter)
    if result_id is None:
        return
    unseen = None if getattr(error, _RECORDED, False) else error
    record = _update(result_id, unseen, TaskRecord.Status.FAILED, timezone.now())
    if record is not None:
        _announce(task_finished, to_result(record))


def _on_replay(sender: Any, dead_letter: DeadLetter, envelope: dict[str, Any], **kwargs: Any) -> None:
    """The dead letter goes out again: READY, unless its new attempt already began."""
    result_id = _result_id(dead_letter)
    if result_id is not None:
        TaskRecord.objects.filter(pk=result_id, status=TaskRecord.Status.FAILED).update(
            status=TaskRecord.Status.READY, finished_at=None)


def _announce(signal: Signal, result: AnyResult) -> None:
    send(signal, type(result.task.get_backend()), task_result=result)


def connect() -> None:
    """Follow the dead letters of tasks (in every process that writes or replays them)."""
    dead_lettered.connect(_on_dead_letter, dispatch_uid="motia-task-dead-letter")
    dead_letter_replayed.connect(_on_replay, dispatch_uid="motia-task-replay")
