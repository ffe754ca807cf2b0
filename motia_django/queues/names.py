"""How bindings map onto Celery queues, and the names Celery tooling shows for the runtime's tasks.

A topic ``orders`` travels on queue ``motia.orders``; cron, state and stream
triggers use ``motia._cron``, ``motia._state`` and ``motia._stream``.  A
project moves one step elsewhere with Celery's own ``task_routes``, keyed by
the step's name (``{"CreateOrder": {"queue": "orders-critical"}}``): its
messages then travel on that queue, which a dedicated worker consumes
(``celery -A project worker -Q orders-critical``).
"""

from __future__ import annotations

from typing import Any

from ..conf import motia_settings
from ..registry import Binding
from .app import celery_app, is_initialised

__all__ = [
    "DELIVER_TASK", "FIFO_DRAIN_TASK", "deliver_shadow", "fifo_drain_shadow", "queue_for_binding", "queue_for_topic",
    "queue_for_trigger", "queues_of",
]

#: The task that runs one message for one binding (sent by name, so publishing never imports it).
DELIVER_TASK = "motia.deliver"
#: The task that works through one FIFO group.
FIFO_DRAIN_TASK = "motia.fifo_drain"


def deliver_shadow(binding: Binding) -> str:
    """The name ``motia.deliver`` shows for this binding in events, ``inspect``, Flower and worker logs: the step's."""
    return binding.step.name


def fifo_drain_shadow(binding: Binding) -> str:
    """The name a FIFO drain shows: the step's, marked, since one drain runs many of its messages."""
    return f"{binding.step.name} (FIFO drain)"


def queue_for_topic(topic: str) -> str:
    return f"{motia_settings().QUEUE_PREFIX}{topic}"


def queue_for_binding(binding: Binding) -> str:
    return queue_for_trigger(deliver_shadow(binding), binding.trigger.kind, binding.topic)


def queue_for_trigger(step_name: str, kind: str, topic: str | None) -> str:
    """The queue routed to the step by ``task_routes``, else the topic's (or the trigger kind's).

    Takes names, not a binding: a process may route a message for a step it does not know.
    """
    routed = _routed_queue(step_name)
    if routed:
        return routed
    if topic:
        return queue_for_topic(topic)
    return f"{motia_settings().QUEUE_PREFIX}_{kind}"


def _routed_queue(step_name: str) -> str | None:
    """The queue the Celery app's ``task_routes`` give ``step_name``, if any."""
    if not is_initialised():
        return None
    router: Any = celery_app().amqp.router
    if not router.routes:
        return None
    route: Any = router.lookup_route(step_name, (), {}, {}, None)
    if isinstance(route, dict):
        route = route.get("queue")
    return getattr(route, "name", route) or None


def queues_of(bindings: list[Binding]) -> list[str]:
    return sorted({queue_for_binding(b) for b in bindings})
