"""The example Django project that serves the steps in ``steps/``."""

from .celery import app as celery_app

__all__ = ["celery_app"]
