"""Django's tasks framework (``django.tasks``, Django 6.0) on the queue runtime.

``TASKS = {"default": {"BACKEND": "motia_django.django_tasks.MotiaTaskBackend"}}`` runs
``@task`` functions through the outbox, retries, dead letters and execution
records of queue steps, and stores their results.  Nothing else imports this
package, so the app runs on Django 5.2, which has no ``django.tasks``.
"""

from __future__ import annotations

from .backend import MotiaTaskBackend

__all__ = ["MotiaTaskBackend"]
