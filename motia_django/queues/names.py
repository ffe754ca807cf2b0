"""How bindings map onto Celery queues, and the names of the runtime's tasks.

A topic ``orders`` travels on queue ``motia.orders``; cron, state and stream
triggers use ``motia._cron``, ``motia._state`` and ``motia._stream``.
"""

from __future__ import annotations

from ..conf import motia_settings
from ..registry import Binding

__all__ = ["DELIVER_TASK", "FIFO_DRAIN_TASK", "queue_for_binding", "queue_for_topic", "queues_of"]

#: The task that runs one message for one binding (sent by name, so publishing never imports it).
DELIVER_TASK = "motia.deliver"
#: The task that works through one FIFO group.
FIFO_DRAIN_TASK = "motia.fifo_drain"


def queue_for_topic(topic: str) -> str:
    return f"{motia_settings().QUEUE_PREFIX}{topic}"


def queue_for_binding(binding: Binding) -> str:
    if binding.topic:
        return queue_for_topic(binding.topic)
    return f"{motia_settings().QUEUE_PREFIX}_{binding.trigger.kind}"


def queues_of(bindings: list[Binding]) -> list[str]:
    return sorted({queue_for_binding(b) for b in bindings})
