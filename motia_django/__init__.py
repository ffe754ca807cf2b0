"""motia-django: Motia steps served by Django and run by Celery."""

__version__ = "0.1.0"
