"""Worker integration: consume every step queue, and the relay sweep.

``celery -A project worker`` serves all steps (``-Q motia.orders`` dedicates a
worker to one topic), and every worker sweeps the outbox and stalled FIFO
groups every ``MOTIA["RELAY_INTERVAL"]`` seconds (:class:`RelaySweep`).  The
receivers here are connected in ``ready()``; ``celeryd_init`` reaches them after
Django is set up and before the worker builds its bootsteps.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import bootsteps
from celery.signals import celeryd_after_setup, celeryd_init, worker_process_shutdown

from ..conf import motia_settings
from ..registry import get_registry
from ..tracing.recorder import flush
from ..tracing.retention import purge_expired
from .app import init_app, is_initialised
from .broker import tune_transport
from .names import queues_of
from .outbox import sweep as relay

__all__ = ["RelaySweep", "connect", "consume_step_queues", "flush_execution_records", "on_worker_init", "sweep"]

logger = logging.getLogger("motia.queues")


def consume_step_queues(sender: str, instance: Any, **kwargs: Any) -> None:
    queues = instance.app.amqp.queues
    if getattr(queues, "_consume_from", None) is not None:
        return  # the operator picked queues with -Q
    for name in queues_of(get_registry().background_bindings):
        queues.select_add(name)


class RelaySweep(bootsteps.StartStopStep):
    """Periodically resend outbox rows, restart FIFO groups whose drain died, and drop expired records."""

    requires = ("celery.worker.components:Timer",)

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        self.timer_ref: Any = None

    def start(self, worker: Any) -> None:
        self.timer_ref = worker.timer.call_repeatedly(motia_settings().RELAY_INTERVAL, sweep, priority=10)

    def stop(self, worker: Any) -> None:
        if self.timer_ref is not None:
            self.timer_ref.cancel()
            self.timer_ref = None


def on_worker_init(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``celeryd_init``: the worker runs the relay; one whose app was not wired in still serves (and says so)."""
    if RelaySweep not in instance.app.steps["worker"]:
        instance.app.steps["worker"].add(RelaySweep)
    if not is_initialised():
        logger.warning("motia_django.init_app(app) was not called; using the worker's app %r", instance.app.main)
        init_app(instance.app)
        tune_transport(instance.app)


def flush_execution_records(**kwargs: Any) -> None:
    """Pool processes exit without running ``atexit``: write their last records first."""
    flush()


def sweep() -> None:
    """One relay pass: resend the outbox, restart stalled FIFO groups, drop expired records."""
    relay()
    purge_expired()


def connect() -> None:
    celeryd_init.connect(on_worker_init, dispatch_uid="motia-worker-init")
    celeryd_after_setup.connect(consume_step_queues, dispatch_uid="motia-step-queues")
    worker_process_shutdown.connect(flush_execution_records, dispatch_uid="motia-flush-records")
