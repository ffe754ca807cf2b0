"""motia-django: Motia steps served by Django and run by Celery."""

from __future__ import annotations

from .queues.app import init_app

__all__ = ["__version__", "init_app"]

__version__ = "0.1.0"
