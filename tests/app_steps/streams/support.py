"""Stream auth hooks of the tests (imported by dotted path, not a step file)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied

from motia_django.streams.auth import StreamAuthRequest, StreamSubscription

#: token -> user; any other token is refused, no token is anonymous.
USERS = {"alice-token": "alice", "bob-token": "bob"}


def authenticate(request: StreamAuthRequest) -> dict[str, Any] | None:
    if request.token is None:
        return None
    if request.token not in USERS:
        raise PermissionDenied("unknown token")
    return {"user": USERS[request.token]}


async def signed_in(subscription: StreamSubscription, auth_context: Any) -> bool:
    """``can_access`` of the settings-declared stream: any signed-in user (async on purpose)."""
    return auth_context is not None
