from __future__ import annotations

import logging

from django.apps import AppConfig

logger = logging.getLogger("motia.discovery")


class MotiaConfig(AppConfig):
    name = "motia_django"
    verbose_name = "Motia"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import changes, checks  # noqa: F401  (checks registers the system checks)
        from .conf import motia_settings
        from .cron import scheduler  # noqa: F401  (the cron tick task, the beat start check)
        from .env import load_env
        from .logs import install_default_handler, install_stored_handler
        from .queues import app, tasks, worker  # noqa: F401  (tasks registers the Celery tasks)
        from .queues.broker import tune
        from .registry import get_registry
        from .streams import realtime

        options = motia_settings()
        if options.env_path is not None:
            load_env(options.env_path)  # before any step file reads the environment
        install_default_handler(options.LOG_FORMAT)
        install_stored_handler()
        for error in get_registry().errors:  # the process serves on without the step
            logger.error("step file not loaded: %s", error)
        changes.connect()
        realtime.connect()
        worker.connect()
        if app.is_initialised():
            tune(app.celery_app())
