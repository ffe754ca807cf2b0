"""``MotiaTaskBackend``: ``@task`` functions run as queue messages, with their results stored.

``enqueue()`` writes the result and the message in the caller's transaction
(sent once it commits; a rollback sends nothing), ``run_after`` waits in the
outbox, and workers run the task under the backend's retry policy, ending in a
dead letter that ``motia_dlq`` and the admin replay.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ParamSpec, TypeVar, cast

from django.db import transaction
from django.tasks import Task, TaskResult
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.exceptions import InvalidTaskBackend, TaskResultDoesNotExist
from django.utils import timezone
from pydantic import ValidationError

from ..execution import current_context
from ..models import TaskRecord
from ..queues.names import queue_for_topic
from ..queues.outbox import dispatch
from ..queues.publisher import build_envelope
from ..registry import Binding
from ..steps.infrastructure import InfrastructureConfig
from ..tracing.ids import new_trace_id
from . import results
from .bindings import task_binding
from .keys import parse_key, topic_for
from .results import AnyResult

__all__ = ["MotiaTaskBackend"]

_OPTIONS = ("queue", "handler")

P = ParamSpec("P")
R = TypeVar("R")


class MotiaTaskBackend(BaseTaskBackend):
    """A ``TASKS`` backend on this project's outbox, Celery workers, retries, dead letters and records.

    ``OPTIONS`` takes a step's ``infrastructure`` keys: ``queue`` (``maxRetries``,
    ``backoffType``, ``backoffDelayMs``, ``delaySeconds``, ``visibilityTimeout``)
    and ``handler`` (``timeout``, seconds).
    """

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    #: messages leave the outbox in the order they were written, whatever their priority
    supports_priority = False

    def __init__(self, alias: str, params: dict[str, Any]) -> None:
        super().__init__(alias, params)
        if "." in alias:
            raise InvalidTaskBackend(f"task backend alias {alias!r}: its queues are named after it, without dots")
        if not self.queues:
            raise InvalidTaskBackend(f"task backend {alias!r}: list its QUEUES, whose Celery queues workers consume")
        self.infrastructure = _infrastructure(alias, self.options)
        results.connect()

    def enqueue(self, task: Task[P, R], args: list[Any], kwargs: dict[str, Any]) -> TaskResult[P, R]:
        self.validate_task(task)
        ctx = current_context()
        trace_id = ctx.trace_id if ctx is not None else new_trace_id()
        record = results.new_record(self.alias, task, args, kwargs, trace_id)
        envelope = build_envelope(
            topic_for(self.alias, task.queue_name), {"resultId": record.pk, "args": record.args,
                                                     "kwargs": record.kwargs},
            trace_id=trace_id, source=ctx.step_name if ctx is not None else None,
            depth=ctx.depth + 1 if ctx is not None else 0,
        )
        with transaction.atomic():  # the result and its message: both, or neither
            record.save(force_insert=True)
            dispatch([task_binding(self.alias, task, task.queue_name, self.infrastructure)], envelope,
                     delay=_seconds_until(task.run_after))
        return cast("TaskResult[P, R]", results.enqueued(record, task))

    def get_result(self, result_id: str) -> AnyResult:
        record = TaskRecord.objects.filter(pk=result_id, backend=self.alias).first()
        if record is None:
            raise TaskResultDoesNotExist(result_id)
        return results.to_result(record)

    # -- a binding source of the queue runtime (motia_django.queues.bindings) -----------------

    def binding_for(self, key: str) -> Binding | None:
        parsed = parse_key(key)
        if parsed is None or parsed[0] != self.alias:
            return None
        _, path, queue_name = parsed
        try:
            task = results.load_task(path)
        except (ImportError, TypeError):
            return None  # another release's task: a worker that has it takes the message
        return task_binding(self.alias, task, queue_name, self.infrastructure)

    def celery_queues(self) -> list[str]:
        return sorted(queue_for_topic(topic_for(self.alias, name)) for name in self.queues)


def _infrastructure(alias: str, options: dict[str, Any]) -> InfrastructureConfig:
    unknown = sorted(set(options) - set(_OPTIONS))
    if unknown:
        raise InvalidTaskBackend(f"task backend {alias!r}: unknown OPTIONS {unknown}; it takes {list(_OPTIONS)}")
    try:
        config = InfrastructureConfig.model_validate(options)
    except ValidationError as exc:
        raise InvalidTaskBackend(f"task backend {alias!r}: invalid OPTIONS: {exc}") from None
    if config.queue is not None and (config.queue.type == "fifo" or config.queue.concurrency):
        raise InvalidTaskBackend(f"task backend {alias!r}: tasks support neither FIFO queues nor concurrency limits")
    return config


def _seconds_until(moment: datetime | None) -> float:
    return 0.0 if moment is None else max(0.0, (moment - timezone.now()).total_seconds())
