"""The delivery policy of a binding: retries, backoff, delay, FIFO, concurrency, timeout.

A queue trigger's own ``config`` wins over the step's ``infrastructure.queue``,
which wins over the defaults of :class:`QueueConfig`.  Cron, state and stream
bindings use the step's ``infrastructure.queue`` the same way.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..conf import motia_settings
from ..registry import Binding
from ..steps.infrastructure import QueueConfig
from ..steps.triggers import EventTrigger, QueueTrigger

__all__ = ["DeliveryPolicy", "hard_time_limit", "policy_for"]


@dataclass(frozen=True)
class DeliveryPolicy:
    fifo: bool
    max_retries: int
    backoff_type: str
    backoff_delay_ms: int
    delay_seconds: float
    visibility_timeout: float
    concurrency: int | None
    timeout: float | None

    @property
    def lease_seconds(self) -> float:
        """How long a FIFO group or concurrency slot stays held by a delivery that stopped answering."""
        return max(self.visibility_timeout, (self.timeout or 0) + 5)

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    def backoff_seconds(self, attempt: int) -> float:
        """Wait before attempt ``attempt + 1``: fixed, or doubling from ``backoff_delay_ms``."""
        factor = 1 if self.backoff_type == "fixed" else 2 ** max(0, attempt - 1)
        return self.backoff_delay_ms * factor / 1000


@functools.lru_cache(maxsize=4096)
def policy_for(binding: Binding) -> DeliveryPolicy:
    """The binding's policy (cached: bindings are immutable, and replaced when steps reload)."""
    trigger = binding.trigger
    infrastructure = binding.step.config.infrastructure
    config = (
        (trigger.config if isinstance(trigger, QueueTrigger | EventTrigger) else None)
        or (infrastructure.queue if infrastructure else None)
        or QueueConfig()
    )
    handler = infrastructure.handler if infrastructure else None
    return DeliveryPolicy(
        fifo=config.type == "fifo" and isinstance(trigger, QueueTrigger | EventTrigger),
        max_retries=config.max_retries,
        backoff_type=config.backoff_type,
        backoff_delay_ms=config.backoff_delay_ms,
        delay_seconds=config.delay_seconds,
        visibility_timeout=float(config.visibility_timeout or motia_settings().VISIBILITY_TIMEOUT),
        concurrency=config.concurrency,
        timeout=handler.timeout if handler else 30.0,
    )


def hard_time_limit(policy: DeliveryPolicy) -> float | None:
    """Celery's ``time_limit`` for a delivery: it ends a worker process stuck where no timeout reaches.

    The handler's own timeout fires first; then the delivery may still ride out
    a database outage for ``OUTAGE_PATIENCE`` seconds while it records the outcome.
    """
    if not policy.timeout:
        return None
    return policy.timeout + motia_settings().OUTAGE_PATIENCE + 5
