"""Who may subscribe: the ``authenticate`` hook per connection, ``can_access`` per join.

``MOTIA["STREAM_AUTHENTICATE"]`` turns a connection's token into an auth context
(``None`` for anonymous; raising refuses the connection); without a hook the
context is the Django user of the session cookie (``None`` when anonymous).
Each join then asks the stream's ``can_access(subscription, auth_context)``; a
stream without one gets ``MOTIA["STREAM_DEFAULT_ACCESS"]``: denied, except on a
development server (``DEBUG``) with no hook.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pydantic
from django.utils.module_loading import import_string

from ..conf import motia_settings
from ..execution import acall_isolated
from .stream import StreamConfig

__all__ = ["AUTH_SUBPROTOCOL", "StreamAuthInput", "StreamAuthRefused", "StreamAuthRequest", "StreamAuthResult",
           "StreamSubscription", "authenticate", "can_join", "offered_auth_subprotocol"]

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

    @property
    def query_params(self) -> Mapping[str, list[str]]:
        """Motia's name for :attr:`query`."""
        return self.query

    @property
    def user(self) -> Any:
        """The Django user of the session cookie (``AnonymousUser`` without one), ``None`` without sessions."""
        return self.scope.get("user")

    @property
    def addr(self) -> str:
        """The client's address, ``host:port`` (empty when the server does not say)."""
        client = self.scope.get("client")
        return f"{client[0]}:{client[1]}" if client else ""


#: Motia's name for what its ``authenticate`` hook receives.
StreamAuthInput = StreamAuthRequest


class StreamAuthResult(pydantic.BaseModel):
    """What an ``authenticate`` hook may return, as in Motia: refused, or authorized with a context."""

    authorized: bool
    context: Any = None


class StreamAuthRefused(PermissionError):
    """The ``authenticate`` hook answered ``False`` or ``StreamAuthResult(authorized=False)``."""


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
    """The auth context of a connection (``None``: anonymous); raises to refuse it.

    The hook returns the context itself, or Motia's answers: a ``StreamAuthResult``
    (its ``context``), ``True`` (authorized, no context) or ``False`` (refused).
    Without a hook, a signed-in session user is the context.
    """
    hook = _hook()
    if hook is None:
        user = scope.get("user")
        return user if getattr(user, "is_authenticated", False) else None
    answer = await acall_isolated(hook, StreamAuthRequest.from_scope(scope))
    if answer is False or (isinstance(answer, StreamAuthResult) and not answer.authorized):
        raise StreamAuthRefused("the authenticate hook refused the connection")
    if isinstance(answer, StreamAuthResult):
        return answer.context
    return None if answer is True else answer


async def can_join(config: StreamConfig, subscription: StreamSubscription, auth_context: Any) -> bool:
    """Ask the stream's ``can_access``; an error in it denies (and is logged)."""
    if config.can_access is None:
        return motia_settings().stream_default_access
    try:
        return bool(await acall_isolated(config.can_access, subscription, auth_context))
    except Exception:
        logger.exception("can_access of stream %r failed; denying %s", config.name, subscription)
        return False
