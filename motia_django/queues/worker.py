"""Worker integration: consume every step queue, and run the relay sweep.

``celery -A project worker`` serves all steps (``-Q motia.orders`` dedicates a
worker to one topic), and every worker sweeps the outbox and stalled FIFO
groups every ``MOTIA["RELAY_INTERVAL"]`` seconds.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, bootsteps
from celery.signals import celeryd_after_setup, worker_process_shutdown

from ..conf import motia_settings
from ..registry import get_registry
from .names import queues_of

__all__ = ["RelaySweep", "consume_step_queues", "install"]


@celeryd_after_setup.connect
def consume_step_queues(sender: str, instance: Any, **kwargs: Any) -> None:
    queues = instance.app.amqp.queues
    if getattr(queues, "_consume_from", None) is not None:
        return  # the operator picked queues with -Q
    for name in queues_of(get_registry().background_bindings):
        queues.select_add(name)


@worker_process_shutdown.connect
def flush_execution_records(**kwargs: Any) -> None:
    """Pool processes exit without running ``atexit``: write their last records first."""
    from ..tracing.recorder import flush

    flush()


class RelaySweep(bootsteps.StartStopStep):
    """Periodically resend outbox rows, restart FIFO groups whose drain died, and drop expired records."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        self.timer_ref: Any = None

    def start(self, worker: Any) -> None:
        self.timer_ref = worker.timer.call_repeatedly(motia_settings().RELAY_INTERVAL, self.sweep, priority=10)

    @staticmethod
    def sweep() -> None:
        from ..tracing.retention import purge_expired
        from .outbox import sweep

        sweep()
        purge_expired()

    def stop(self, worker: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None


def install(app: Celery) -> None:
    if RelaySweep not in app.steps["worker"]:
        app.steps["worker"].add(RelaySweep)
