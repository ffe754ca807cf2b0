"""Celery app of the example project: ``celery -A project worker``."""

from __future__ import annotations

import os

from celery import Celery

import motia_django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
motia_django.init_app(app)  # steps' messages go out through this app; its workers serve them
