"""A task as the queue runtime sees it: a binding of step ``task:<module.function>``.

One binding per backend, task and queue name: its key
(``task:<path>#queue:task.<alias>.<queue_name>``) names all three, so any worker
rebuilds it from a message, and its topic gives Celery queue
``motia.task.<alias>.<queue_name>``.  Its policy (retries, backoff, timeout) is the
backend's ``OPTIONS``, in the shape of a step's ``infrastructure``.  Its handler runs
the task for the result id the message carries.
"""

from __future__ import annotations

from typing import Any

from django.core.signals import setting_changed

from ..registry import Binding
from ..steps.config import StepConfig
from ..steps.definition import StepDefinition
from ..steps.infrastructure import InfrastructureConfig
from ..steps.triggers import QueueTrigger
from . import runner
from .keys import topic_for
from .results import AnyTask

__all__ = ["task_binding"]

#: (alias, task path, queue name) → its binding: one object per process, as the delivery policy cache wants
_bindings: dict[tuple[str, str, str], Binding] = {}


def task_binding(alias: str, task: AnyTask, queue_name: str, infrastructure: InfrastructureConfig) -> Binding:
    """The binding that runs ``task`` for backend ``alias`` on ``queue_name``."""
    cache_key = (alias, task.module_path, queue_name)
    found = _bindings.get(cache_key)
    if found is None:
        topic = topic_for(alias, queue_name)
        config = StepConfig(name=f"task:{task.module_path}", triggers=[QueueTrigger(topic=topic)],
                            infrastructure=infrastructure)
        step = StepDefinition(config, runner.handler_for(task))
        found = _bindings[cache_key] = Binding(step, config.triggers[0], 0, topic)
    return found


def _forget(*, setting: str, **kwargs: Any) -> None:
    """A changed ``TASKS`` (tests) may change a backend's policy: build its bindings again."""
    if setting == "TASKS":
        _bindings.clear()


setting_changed.connect(_forget, dispatch_uid="motia-task-bindings")
