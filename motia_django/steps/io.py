"""What handlers receive and return, for every trigger kind."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from .triggers import TriggerType

if TYPE_CHECKING:
    from ..http.streaming import HttpStreamResponse

__all__ = [
    "ApiRequest",
    "ApiResponse",
    "Headers",
    "MotiaHttpArgs",
    "MotiaHttpRequest",
    "RequestBody",
    "StateTriggerInput",
    "StreamEvent",
    "StreamTriggerInput",
    "TriggerInfo",
]

TBody = TypeVar("TBody")


class Headers(dict[str, str]):
    """Request headers, looked up case-insensitively (keys are stored lower-case)."""

    def __init__(self, items: Mapping[str, str] | None = None) -> None:
        super().__init__((k.lower(), v) for k, v in (items or {}).items())

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


class RequestBody(bytes):
    """The raw request body (``request.request_body``), read whole or chunk by chunk.

    It is the body's bytes, and, as Motia's channel reader, ``async for chunk in
    body.stream`` (or ``in body``) yields it in chunks of at most ``CHUNK_SIZE``
    bytes and ``await body.read_all()`` returns it whole, so a step written
    against a streamed upload runs unchanged.
    """

    CHUNK_SIZE = 64 * 1024

    @property
    def stream(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    def chunks(self) -> Iterator[bytes]:
        """The same chunks, for sync code."""
        view = memoryview(self)
        for start in range(0, len(view), self.CHUNK_SIZE):
            yield bytes(view[start:start + self.CHUNK_SIZE])

    async def _chunks(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks():
            yield chunk

    async def read_all(self) -> bytes:
        return bytes(self)


@dataclass
class ApiRequest(Generic[TBody]):
    """An HTTP request as a step sees it.

    ``body`` is the parsed JSON for JSON requests (``None`` when empty) and the
    raw bytes otherwise; ``raw_body`` always holds the bytes, and ``request_body``
    the same bytes as a :class:`RequestBody` to read in chunks.  ``user`` is the
    caller (Django's user, anonymous when nobody signed in) and ``auth`` what the
    route's DRF authentication returned with it (a token), else ``None``.
    """

    path_params: dict[str, str] = field(default_factory=dict)
    query_params: dict[str, str | list[str]] = field(default_factory=dict)
    body: TBody | Any = None
    headers: Headers = field(default_factory=Headers)
    method: str = ""
    path: str = ""
    raw_body: bytes = b""
    user: Any = None
    auth: Any = None

    @property
    def request_body(self) -> RequestBody:
        return RequestBody(self.raw_body)


MotiaHttpRequest = ApiRequest


@dataclass
class ApiResponse(Generic[TBody]):
    """What an HTTP handler returns; a dict with the same keys works too."""

    status: int = 200
    body: TBody | Any = None
    headers: dict[str, str] = field(default_factory=dict)


class MotiaHttpArgs(Generic[TBody]):
    """The input of an HTTP handler.

    Reads both ways the spec shows: ``input.request.body`` and ``req.body``;
    ``input.response`` streams a response chunk by chunk.
    """

    __slots__ = ("request", "response")

    def __init__(self, request: ApiRequest[TBody], response: HttpStreamResponse) -> None:
        self.request = request
        self.response = response

    @property
    def body(self) -> Any:
        return self.request.body

    @property
    def path_params(self) -> dict[str, str]:
        return self.request.path_params

    @property
    def query_params(self) -> dict[str, str | list[str]]:
        return self.request.query_params

    @property
    def headers(self) -> Headers:
        return self.request.headers

    @property
    def method(self) -> str:
        return self.request.method

    @property
    def path(self) -> str:
        return self.request.path

    @property
    def raw_body(self) -> bytes:
        return self.request.raw_body

    @property
    def request_body(self) -> RequestBody:
        return self.request.request_body

    @property
    def user(self) -> Any:
        return self.request.user

    @property
    def auth(self) -> Any:
        return self.request.auth

    def get(self, key: str, default: Any = None) -> Any:
        """Dict-style access for handlers written against dict inputs."""
        if key in ("request", "response"):
            return getattr(self, key)
        return getattr(self.request, key, default)

    def __getitem__(self, key: str) -> Any:
        if key in ("request", "response") or hasattr(self.request, key):
            return self.get(key)
        raise KeyError(key)


@dataclass(frozen=True)
class TriggerInfo:
    """Which trigger fired this execution (``ctx.trigger``); read-only."""

    type: TriggerType
    index: int | None = None
    path: str | None = None
    method: str | None = None
    topic: str | None = None
    expression: str | None = None
    stream_name: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "type", TriggerType(self.type))


class _TriggerInputModel(BaseModel):
    """A pydantic trigger input read as attributes or dict keys, camelCase or snake_case.

    ``model_dump(by_alias=True)`` gives the camelCase shape Motia's own models dump.
    """

    model_config = ConfigDict(populate_by_name=True, alias_generator=to_camel, extra="ignore")

    def _field(self, key: str) -> str:
        if key in type(self).model_fields:
            return key
        return next((name for name, info in type(self).model_fields.items() if info.alias == key), key)

    def __getitem__(self, key: str) -> Any:
        name = self._field(key)
        if name not in type(self).model_fields:
            raise KeyError(key)
        return getattr(self, name)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._field(key) in type(self).model_fields

    def keys(self) -> list[str]:
        return list(type(self).model_fields)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


class StateTriggerInput(_TriggerInputModel):
    """A change to ``ctx.state``: scope is ``group_id``, key is ``item_id``."""

    type: Literal["state"] = "state"
    group_id: str
    item_id: str
    old_value: Any = None
    new_value: Any = None
    event_type: str = "updated"
    trace_id: str | None = None


class StreamEvent(_TriggerInputModel):
    """What happened to a stream item: ``create``, ``update``, ``delete`` (or a custom event)."""

    type: str
    data: Any = None

    def __init__(self, type: str | None = None, data: Any = None, **fields: Any) -> None:  # noqa: A002
        """Also ``StreamEvent("create", data)``, positionally."""
        if type is not None:
            fields["type"] = type
        fields["data"] = data
        super().__init__(**fields)


class StreamTriggerInput(_TriggerInputModel):
    """A change to a stream item."""

    type: Literal["stream"] = "stream"
    timestamp: int
    stream_name: str
    group_id: str
    id: str
    event: StreamEvent
