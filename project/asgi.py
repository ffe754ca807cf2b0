"""ASGI entry point: Django for HTTP, the stream endpoint (``ws://host/``) for WebSockets."""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

django_application = get_asgi_application()

from motia_django.streams.routing import stream_application  # noqa: E402  (needs Django set up)

application = stream_application(django_application)
