"""What the ``drf-`` steps share: the caller as a handler sees it, and a throttle low enough to test."""

from __future__ import annotations

from typing import Any

from rest_framework.throttling import AnonRateThrottle


class DrfBurstThrottle(AnonRateThrottle):
    """Two anonymous calls a minute per client address."""

    scope = "drf-burst"
    rate = "2/min"


def caller(user: Any, auth: Any) -> dict[str, Any]:
    """The ``req.user``/``req.auth`` of a request, as JSON."""
    return {
        "user": user.get_username() if user.is_authenticated else None,
        "authenticated": bool(user.is_authenticated),
        "user_class": user.__class__.__name__,  # through SimpleLazyObject
        "auth": getattr(auth, "key", None) if auth is not None else None,
        "auth_class": type(auth).__name__ if auth is not None else None,
    }
