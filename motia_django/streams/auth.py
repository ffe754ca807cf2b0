"""Who may subscribe: the ``authenticate`` hook per connection, ``can_access`` per join.

``MOTIA["STREAM_AUTHENTICATE"]`` turns a connection's token into an auth context
(``None`` for anonymous; raising refuses the connection).  Each join then asks
the stream's ``can_access(subscription, auth_context)``; a stream without one
gets ``MOTIA["STREAM_DEFAULT_ACCESS"]`` (deny when a hook is set).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from django.utils.module_loading import import_string

from ..conf import motia_settings
from ..execution import acall_isolated
from .stream import StreamConfig

__all__ = ["AUTH_SUBPROTOCOL", "StreamAuthRequest", "StreamSubscription", "authenticate", "can_join",
           "offered_auth_subprotocol"]

logger = logging.getLogger("motia.streams")

#: Browsers cannot set headers on a WebSocket, so Motia clients offer ``["Authorization", token]``
#: as subprotocols; the server must echo ``Authorization`` or the browser drops the connection.
AUTH_SUBPROTOCOL = "Authorization"


@dataclass(frozen=True)
class StreamAuthRequest:
    """What ``authenticate`` sees of a WebSocket handshake."""

    #: From the ``Authorization`` subprotocol, the ``Authorization`` header (``Bearer`` stripped)
    #: or the ``authToken`` query parameter, in that order; ``None`` if absent.
    token: str | None
    #: Header names in lower case.
    headers: Mapping[str, str]
    query: Mapping[str, list[str]]
    path: str
    #: The ASGI scope, for cookies or anything else.
    scope: Mapping[str, Any] = field(repr=False)

    @classmethod
    def from_scope(cls, scope: Mapping[str, Any]) -> StreamAuthRequest:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return cls(_token(scope, headers, query), headers, query, scope.get("path", ""), scope)


def offered_auth_subprotocol(scope: Mapping[str, Any]) -> bool:
    protocols = list(scope.get("subprotocols") or [])
    return len(protocols) >= 2 and protocols[0] == AUTH_SUBPROTOCOL


def _token(scope: Mapping[str, Any], headers: Mapping[str, str], query: Mapping[str, list[str]]) -> str | None:
    if offered_auth_subprotocol(scope):
        return str(scope["subprotocols"][1]).strip() or None
    header = headers.get("authorization", "").strip()
    if header:
        scheme, _, rest = header.partition(" ")
        return rest.strip() if scheme.lower() == "bearer" and rest.strip() else header
    values = query.get("authToken")
    return values[0] if values else None


@dataclass(frozen=True)
class StreamSubscription:
    """One join, as ``can_access`` sees it: attributes, or Motia's keys (``sub["groupId"]``)."""

    stream_name: str
    group_id: str
    id: str | None
    subscription_id: str

    def __getitem__(self, key: str) -> Any:
        names = {"streamName": "stream_name", "groupId": "group_id", "subscriptionId": "subscription_id"}
        return getattr(self, names.get(key, key))

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except AttributeError:
            return default


def _hook() -> Callable[..., Any] | None:
    path = motia_settings().STREAM_AUTHENTICATE
    return None if path is None else import_string(path)


async def authenticate(scope: Mapping[str, Any]) -> Any:
    """The auth context of a connection (``None``: anonymous); raises to refuse it."""
    hook = _hook()
    if hook is None:
        return None
    return await acall_isolated(hook, StreamAuthRequest.from_scope(scope))


async def can_join(config: StreamConfig, subscription: StreamSubscription, auth_context: Any) -> bool:
    """Ask the stream's ``can_access``; an error in it denies (and is logged)."""
    if config.can_access is None:
        return motia_settings().stream_default_access
    try:
        return bool(await acall_isolated(config.can_access, subscription, auth_context))
    except Exception:
        logger.exception("can_access of stream %r failed; denying %s", config.name, subscription)
        return False
