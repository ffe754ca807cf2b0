from __future__ import annotations

from django.apps import AppConfig


class MotiaConfig(AppConfig):
    name = "motia_django"
    verbose_name = "Motia"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery import current_app

        from . import checks, signals  # noqa: F401  (registers system checks and change triggers)
        from .conf import motia_settings
        from .cron import scheduler  # noqa: F401  (the cron tick task, the beat start check)
        from .logs import install_default_handler, install_stored_handler
        from .queues import tasks, worker  # noqa: F401  (registers the Celery tasks)
        from .queues.broker import tune_transport
        from .registry import get_registry
        from .streams import realtime  # noqa: F401  (forwards committed stream changes to WebSocket subscribers)

        install_default_handler(motia_settings().LOG_FORMAT)
        install_stored_handler()
        get_registry()
        worker.install(current_app)
        tune_transport(current_app)
