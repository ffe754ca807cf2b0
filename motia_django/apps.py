from __future__ import annotations

from django.apps import AppConfig


class MotiaConfig(AppConfig):
    name = "motia_django"
    verbose_name = "Motia"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import changes, checks  # noqa: F401  (checks registers the system checks)
        from .conf import motia_settings
        from .cron import scheduler  # noqa: F401  (the cron tick task, the beat start check)
        from .logs import install_default_handler, install_stored_handler
        from .queues import app, tasks, worker  # noqa: F401  (tasks registers the Celery tasks)
        from .queues.broker import tune
        from .registry import get_registry
        from .streams import realtime

        install_default_handler(motia_settings().LOG_FORMAT)
        install_stored_handler()
        get_registry()
        changes.connect()
        realtime.connect()
        worker.connect()
        if app.is_initialised():
            tune(app.celery_app())
