"""Motia steps on Django and Celery: ``from motia import step, http, queue, ...``.

This package is the public facade; the implementation lives in ``motia_django``.
"""

from __future__ import annotations

from motia_django.api import *  # noqa: F403
from motia_django.api import __all__ as __all__  # noqa: PLC0414
