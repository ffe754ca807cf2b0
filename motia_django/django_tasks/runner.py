"""One attempt of a task on a worker: the handler of its binding.

The attempt marks the result RUNNING, calls the function (awaited when it is a
coroutine function, on the worker thread's loop) and stores its return value.  A
failure is recorded on the result and raised again, so the queue runtime retries
it or writes its dead letter (see :mod:`.results`).
"""

from __future__ import annotations

import socket
from inspect import iscoroutinefunction
from typing import Any, cast

from celery import current_task
from django.tasks import TaskContext
from django.utils.json import normalize_json

from ..execution import in_thread
from ..steps.definition import StepHandler
from . import results
from .results import AnyResult, AnyTask

__all__ = ["handler_for"]


def handler_for(task: AnyTask) -> StepHandler:
    """The step handler of ``task``: async for a coroutine function, so the runtime awaits it.

    It takes the message's data alone (the runtime passes a handler what its signature asks for).
    """
    if iscoroutinefunction(task.func):
        async def run_async(data: dict[str, Any]) -> None:
            result = await in_thread(results.begin)(data["resultId"], _worker_id(), task)
            try:
                value = normalize_json(await task.func(*_arguments(task, result), **result.kwargs))
            except Exception as exc:
                await in_thread(results.fail_attempt)(result.id, exc)
                raise
            await in_thread(results.succeed)(result.id, value)

        return cast(StepHandler, run_async)

    def run(data: dict[str, Any]) -> None:
        result = results.begin(data["resultId"], _worker_id(), task)
        try:
            value = normalize_json(task.func(*_arguments(task, result), **result.kwargs))
        except Exception as exc:
            results.fail_attempt(result.id, exc)
            raise
        results.succeed(result.id, value)

    return cast(StepHandler, run)


def _arguments(task: AnyTask, result: AnyResult) -> list[Any]:
    return [TaskContext(task_result=result), *result.args] if task.takes_context else list(result.args)


def _worker_id() -> str:
    """The Celery worker's name (``w1@host``), as ``TaskResult.worker_ids`` lists it."""
    request = getattr(current_task, "request", None)
    return str(getattr(request, "hostname", None) or socket.gethostname())
