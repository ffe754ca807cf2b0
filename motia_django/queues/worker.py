"""Worker integration: consume every step queue, and run the relay.

``celery -A project worker`` serves all steps (``-Q motia.orders`` dedicates a
worker to one topic), and every worker's main process runs a relay thread
(:class:`RelayStep`, see :mod:`.relay`), of which one at a time sweeps.  The
receivers here are connected in ``ready()``; ``celeryd_init`` reaches them after
Django is set up and before the worker builds its bootsteps.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import bootsteps
from celery.signals import after_setup_logger, celeryd_after_setup, celeryd_init, worker_process_shutdown

from ..conf import motia_settings
from ..logs import DEV_CONSOLE_ENV, echo_step_records, format_step_records
from ..registry import get_registry
from ..tracing.recorder import flush
from .app import init_app, is_initialised
from .bindings import extra_queues
from .broker import tune
from .names import queues_of
from .relay import Relay

__all__ = [
    "RelayStep", "connect", "consume_step_queues", "flush_execution_records", "format_worker_log", "on_worker_init",
]

logger = logging.getLogger("motia.queues")


def consume_step_queues(sender: str, instance: Any, **kwargs: Any) -> None:
    queues = instance.app.amqp.queues
    if getattr(queues, "_consume_from", None) is not None:
        return  # the operator picked queues with -Q
    for name in [*queues_of(get_registry().background_bindings), *extra_queues()]:
        queues.select_add(name)


class RelayStep(bootsteps.StartStopStep):
    """Run the relay on a thread of the worker's main process, beside (not inside) the consumer."""

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        self.relay: Relay | None = None

    def start(self, worker: Any) -> None:
        self.relay = Relay()
        self.relay.start()

    def stop(self, worker: Any) -> None:
        if self.relay is not None:
            self.relay.stop()
            self.relay = None


def on_worker_init(sender: Any, instance: Any, **kwargs: Any) -> None:
    """``celeryd_init``: the worker runs the relay; one whose app was not wired in still serves (and says so)."""
    if RelayStep not in instance.app.steps["worker"]:
        instance.app.steps["worker"].add(RelayStep)
    if not is_initialised():
        logger.warning("motia_django.init_app(app) was not called; using the worker's app %r", instance.app.main)
        init_app(instance.app)
        tune(instance.app)


def flush_execution_records(**kwargs: Any) -> None:
    """Pool processes exit without running ``atexit``: write their last records first."""
    flush()


def format_worker_log(logger: logging.Logger, **kwargs: Any) -> None:
    """``after_setup_logger``: step lines in the worker's log (``--logfile``) keep their step and trace id."""
    log_format = motia_settings().LOG_FORMAT
    format_step_records(logger.handlers, log_format)
    if os.environ.get(DEV_CONSOLE_ENV):
        echo_step_records(log_format)


def connect() -> None:
    after_setup_logger.connect(format_worker_log, dispatch_uid="motia-worker-log")
    celeryd_init.connect(on_worker_init, dispatch_uid="motia-worker-init")
    celeryd_after_setup.connect(consume_step_queues, dispatch_uid="motia-step-queues")
    worker_process_shutdown.connect(flush_execution_records, dispatch_uid="motia-flush-records")
