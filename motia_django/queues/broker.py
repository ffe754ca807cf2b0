"""Broker and worker settings that at-least-once delivery relies on.

On Redis, a message taken by a worker is handed out again once it has been
unacknowledged for the transport's ``visibility_timeout``, counted from when the
worker *received* it, whether or not it is still running.  So the timeout must
cover the longest a message can be held: up to its hard time limit (no message
waits in a worker for an ETA: delayed messages wait in the outbox, see
:mod:`.outbox`).  Unless the project set it, it is derived from the steps (:func:`visibility_needed`);
:mod:`motia_django.checks` warns when a set value is too short for a step.
Restores of lost messages are checked every second, and the restore mutex of a
killed holder expires after 10 s (kombu: an hour, 100 s and 5 minutes).

Prefetching more than one message per process lets a message wait behind slow
ones while its visibility timeout runs, so the prefetch multiplier defaults to 1.
A publisher gives up on a broker that is down at the first refused connection
(``max_retries: 0``) instead of retrying for seconds: its message waits in the
outbox (see :mod:`.outbox`).
RabbitMQ redelivers when the consumer's connection drops and needs no timeout.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings

from ..conf import motia_settings
from ..registry import Binding, get_registry
from .policy import hard_time_limit, policy_for

__all__ = ["is_redis", "step_needs", "tune", "visibility_needed"]

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://", "sentinel://")
#: Seconds added to what a step needs, for clock steps between the worker and Redis and the restore check.
MARGIN = 10.0


def is_redis(app: Any) -> bool:
    return str(app.conf.broker_url or "").startswith(_REDIS_SCHEMES)


def step_needs(binding: Binding) -> float:
    """How long a message of ``binding`` may stay unacknowledged while its delivery is still alive."""
    policy = policy_for(binding)
    held = hard_time_limit(policy) or policy.visibility_timeout
    return max(policy.visibility_timeout, held + MARGIN)


def visibility_needed() -> float:
    """The visibility timeout that fits every step of this process."""
    return max([motia_settings().VISIBILITY_TIMEOUT, *map(step_needs, get_registry().background_bindings)])


def tune(app: Any) -> None:
    """Set what the project left unset: prefetch of one message, fail-fast publishing, Redis visibility and restores."""
    if not hasattr(settings, "CELERY_WORKER_PREFETCH_MULTIPLIER") and app.conf.worker_prefetch_multiplier == 4:
        app.conf.worker_prefetch_multiplier = 1
    options = dict(app.conf.broker_transport_options or {})
    # a publisher facing a broker that is down gives up at once (kombu retries for ~6 s); its
    # messages wait in the outbox for the relay.  Consumers keep their own reconnect policy.
    options.setdefault("max_retries", 0)
    if not is_redis(app):
        app.conf.broker_transport_options = options
        return
    options.setdefault("visibility_timeout", visibility_needed())
    options.setdefault("unacked_restore_interval", 1)
    options.setdefault("unacked_restore_throttle", 1)
    # a worker killed while restoring would otherwise block every restore for 5 minutes
    options.setdefault("unacked_mutex_expire", 10)
    app.conf.broker_transport_options = options
