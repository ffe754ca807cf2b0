"""Where the stream WebSocket is served: ``MOTIA["STREAM_WEBSOCKET_PATH"]`` (the root by default,
where Motia clients connect), behind an ``Origin`` check and the Django session.

``project/asgi.py``::

    django_application = get_asgi_application()   # first: sets Django up
    from motia_django.streams.routing import stream_application
    application = stream_application(django_application)

or wrap :func:`websocket_urlpatterns` in :func:`secured` inside your own Channels router.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import ParseResult

from channels.auth import AuthMiddlewareStack
from channels.routing import ProtocolTypeRouter, URLRouter
from channels.security.websocket import OriginValidator
from django.apps import apps
from django.conf import settings
from django.urls import URLPattern, re_path

from ..conf import motia_settings
from .consumer import StreamConsumer

__all__ = ["BrowserOriginValidator", "secured", "stream_application", "websocket_urlpatterns"]


def websocket_urlpatterns() -> list[URLPattern]:
    path = motia_settings().STREAM_WEBSOCKET_PATH.strip("/")
    pattern = rf"^{re.escape(path)}/?$" if path else r"^$"
    return [re_path(pattern, StreamConsumer.as_asgi(), name="motia-streams")]


class BrowserOriginValidator(OriginValidator):  # type: ignore[misc]
    """Refuse handshakes whose ``Origin`` is not one of ``ALLOWED_HOSTS`` (cross-site WebSocket hijacking).

    Browsers always send ``Origin``, so a handshake without one is no page's: it
    comes from a server-side client (the Motia Node client, a script), which the
    token and ``can_access`` checks govern, and is let through.
    """

    def valid_origin(self, parsed_origin: ParseResult | None) -> bool:
        return parsed_origin is None or bool(self.validate_origin(parsed_origin))


def _allowed_origins() -> list[str]:
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:  # Django's own default for a development server
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return hosts


def secured(application: Any) -> Any:
    """``application`` behind the ``Origin`` check, with the session's user in ``scope["user"]``
    (when the project uses Django's sessions and auth)."""
    if apps.is_installed("django.contrib.sessions") and apps.is_installed("django.contrib.auth"):
        application = AuthMiddlewareStack(application)
    return BrowserOriginValidator(application, _allowed_origins())


def stream_application(http_application: Any) -> ProtocolTypeRouter:
    """HTTP to Django, WebSocket connections to the stream endpoint."""
    return ProtocolTypeRouter({"http": http_application, "websocket": secured(URLRouter(websocket_urlpatterns()))})
