"""Where the stream WebSocket is served: ``MOTIA["STREAM_WEBSOCKET_PATH"]`` (the root by default,
where Motia clients connect).

``project/asgi.py``::

    django_application = get_asgi_application()   # first: sets Django up
    from motia_django.streams.routing import stream_application
    application = stream_application(django_application)

or add :func:`websocket_urlpatterns` to your own Channels ``URLRouter``.
"""

from __future__ import annotations

import re
from typing import Any

from channels.routing import ProtocolTypeRouter, URLRouter
from django.urls import URLPattern, re_path

from ..conf import motia_settings
from .consumer import StreamConsumer

__all__ = ["stream_application", "websocket_urlpatterns"]


def websocket_urlpatterns() -> list[URLPattern]:
    path = motia_settings().STREAM_WEBSOCKET_PATH.strip("/")
    pattern = rf"^{re.escape(path)}/?$" if path else r"^$"
    return [re_path(pattern, StreamConsumer.as_asgi(), name="motia-streams")]


def stream_application(http_application: Any) -> ProtocolTypeRouter:
    """HTTP to Django, WebSocket connections to the stream endpoint."""
    return ProtocolTypeRouter({"http": http_application, "websocket": URLRouter(websocket_urlpatterns())})
