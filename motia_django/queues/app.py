"""The Celery app that carries the steps' messages: wired in by one line in the project's Celery module.

.. code-block:: python

    # project/celery.py
    app = Celery("project")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.autodiscover_tasks()
    motia_django.init_app(app)

The app sends every message the runtime publishes.  Its workers (whatever app
they run) consume the step queues and run the relay: see :mod:`.worker`.  This
module needs nothing of Django's set up, so the Celery module may call it first.
"""

from __future__ import annotations

from celery import Celery
from django.core.exceptions import ImproperlyConfigured

__all__ = ["celery_app", "init_app", "is_initialised"]

_app: Celery | None = None


def init_app(app: Celery) -> Celery:
    """Send the runtime's messages with ``app``; returns ``app``."""
    global _app
    _app = app
    return app


def is_initialised() -> bool:
    return _app is not None


def celery_app() -> Celery:
    """The app given to :func:`init_app`."""
    if _app is None:
        raise ImproperlyConfigured(
            "motia_django has no Celery app: add `motia_django.init_app(app)` to the module that creates your "
            "Celery app (and import that module from your project's __init__.py, as Celery's Django guide shows)"
        )
    return _app
