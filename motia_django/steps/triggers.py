"""Trigger declarations: what makes a step run.

Each trigger kind is a pydantic model that validates itself when declared, so a
typo in a step file surfaces at discovery with the field that is wrong.  Both the
factory style (``http("GET", "/x")``) and the class style
(``ApiTrigger(path=..., method=...)``) produce the same models; plain dicts with
a ``type`` key are accepted too.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    field_validator,
    model_validator,
)

from ..cron.expression import CronExpression
from ..schemas import Schema, compile_schema
from .infrastructure import ConfigModel, QueueConfig

__all__ = [
    "HTTP_METHODS",
    "ApiTrigger",
    "CronTrigger",
    "EventTrigger",
    "QueryParam",
    "QueueTrigger",
    "StateTrigger",
    "StreamTrigger",
    "Trigger",
    "TriggerCondition",
    "TriggerType",
    "api",
    "cron",
    "http",
    "queue",
    "state",
    "stream",
]

HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
TriggerCondition = Callable[..., Any]
_PARAM = re.compile(r":([^/]+)|\{([^/{}]+)\}")
_MEDIA_TYPE = re.compile(r"^(\*/\*|[A-Za-z0-9][\w.+-]*/(\*|[A-Za-z0-9][\w.+-]*))$")


class TriggerType(str):
    """A trigger kind that also answers to its older name.

    ``ctx.trigger.type`` reads ``"http"`` or ``"queue"`` but compares equal to
    ``"api"`` and ``"event"`` too, so steps written in either style run unchanged.
    """

    _ALIASES = {"api": "http", "event": "queue"}

    def __new__(cls, value: str) -> TriggerType:
        return super().__new__(cls, cls._ALIASES.get(value, value))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str.__eq__(self, self._ALIASES.get(other, other))
        return NotImplemented

    def __ne__(self, other: object) -> bool:
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    __hash__ = str.__hash__


class _TriggerModel(ConfigModel):
    condition: TriggerCondition | None = None

    @property
    def kind(self) -> TriggerType:
        return TriggerType(self.type)  # type: ignore[attr-defined]


class QueryParam(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    description: str = ""

    @model_validator(mode="before")
    @classmethod
    def _from_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value


class ApiTrigger(_TriggerModel):
    """An HTTP route: ``method`` + ``path`` (params as ``:id`` or ``{id}``)."""

    type: Literal["http", "api"] = "http"
    path: str
    method: str
    body_schema: Any = None
    response_schema: dict[int, Any] | None = None
    query_params: list[QueryParam] | None = None
    middleware: list[Callable[..., Any]] | None = None
    #: Media types a request body may have (``"text/*"``, ``"*/*"``); JSON only when unset.
    #: A body of another type (or with no ``Content-Type``) is refused with 415.
    content_types: list[str] | None = None
    #: Django REST framework policies (classes or dotted paths), run before the middleware as an
    #: ``APIView`` runs them; ``None`` falls back to ``REST_FRAMEWORK`` only under ``MOTIA["HTTP_DRF_DEFAULTS"]``.
    authentication_classes: list[Any] | None = None
    permission_classes: list[Any] | None = None
    throttle_classes: list[Any] | None = None

    _body: Schema | None = PrivateAttr(default=None)
    _responses: dict[int, Schema] = PrivateAttr(default_factory=dict)

    @field_validator("method", mode="before")
    @classmethod
    def _known_method(cls, value: Any) -> str:
        method = str(value).upper()
        if method not in HTTP_METHODS:
            raise ValueError(f"unsupported HTTP method {value!r}; use one of {', '.join(HTTP_METHODS)}")
        return method

    @field_validator("content_types")
    @classmethod
    def _media_types(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError("content_types needs at least one media type, like 'application/json' or '*/*'")
        for media in value:
            if not _MEDIA_TYPE.match(media):
                raise ValueError(f"content type {media!r} is not a media type like 'text/plain', 'text/*' or '*/*'")
        return [media.lower() for media in value]

    @field_validator("authentication_classes", "permission_classes", "throttle_classes", mode="before")
    @classmethod
    def _policy_classes(cls, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | type) or not isinstance(value, list | tuple):
            raise ValueError("must be a list of classes or dotted paths, like [IsAuthenticated]")
        for item in value:
            if not isinstance(item, type) and not (isinstance(item, str) and "." in item):
                raise ValueError(f"{item!r} is neither a class nor a dotted path like "
                                 "'rest_framework.permissions.IsAuthenticated'")
        return list(value)

    @property
    def has_drf_policy(self) -> bool:
        """Whether the trigger names any DRF policy of its own (an empty list counts: it turns one off)."""
        return any(v is not None for v in (self.authentication_classes, self.permission_classes,
                                           self.throttle_classes))

    @field_validator("path")
    @classmethod
    def _valid_path(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"path {value!r} must start with '/'")
        for match in _PARAM.finditer(value):
            name = match.group(1) or match.group(2)
            if not name.isidentifier():
                raise ValueError(f"path parameter {name!r} in {value!r} must be a valid identifier")
        return value

    def model_post_init(self, context: Any) -> None:
        try:
            self._body = compile_schema(self.body_schema)
            self._responses = {
                int(status): Schema(source) for status, source in (self.response_schema or {}).items()
            }
        except Exception as exc:
            raise ValueError(f"invalid schema: {exc}") from exc

    @property
    def body(self) -> Schema | None:
        """The compiled ``body_schema``."""
        return self._body

    @property
    def responses(self) -> dict[int, Schema]:
        """The compiled ``response_schema`` by status code."""
        return self._responses

    @property
    def param_names(self) -> list[str]:
        return [m.group(1) or m.group(2) for m in _PARAM.finditer(self.path)]

    @property
    def route_shape(self) -> str:
        """The path with parameter names erased: two routes clash when shapes match."""
        return _PARAM.sub("{}", self.path)


class _InputSchemaMixin(BaseModel):
    input: Any = None
    _input: Schema | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        try:
            self._input = compile_schema(self.input)
        except Exception as exc:
            raise ValueError(f"invalid input schema: {exc}") from exc

    @property
    def input_schema(self) -> Schema | None:
        return self._input


class QueueTrigger(_InputSchemaMixin, _TriggerModel):
    """Run once per message published to ``topic``."""

    type: Literal["queue"] = "queue"
    topic: str = Field(min_length=1)
    config: QueueConfig | None = None

    @property
    def topics(self) -> list[str]:
        return [self.topic]


class EventTrigger(_InputSchemaMixin, _TriggerModel):
    """Run once per message published to any of ``subscribes``."""

    type: Literal["event"] = "event"
    subscribes: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    config: QueueConfig | None = None

    @property
    def topics(self) -> list[str]:
        return list(self.subscribes)


class CronTrigger(_TriggerModel):
    """Run on a schedule: 5-, 6- (leading seconds) or 7-field (trailing year) cron."""

    type: Literal["cron"] = "cron"
    expression: str = Field(alias="cron")

    @model_validator(mode="before")
    @classmethod
    def _accept_expression_key(cls, value: Any) -> Any:
        if isinstance(value, dict) and "expression" in value and "cron" not in value:
            value = {**value, "cron": value["expression"]}
            del value["expression"]
        return value

    @field_validator("expression")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        return CronExpression.parse(value).text


class StateTrigger(_TriggerModel):
    """Run on every create, update and delete of ``ctx.state``."""

    type: Literal["state"] = "state"


class StreamTrigger(_TriggerModel):
    """Run on changes to a stream, optionally narrowed to a group or an item."""

    type: Literal["stream"] = "stream"
    stream_name: str = Field(min_length=1)
    group_id: str | None = None
    item_id: str | None = None


def _trigger_tag(value: Any) -> str | None:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    return {"api": "http"}.get(kind, kind) if isinstance(kind, str) else None


Trigger = Annotated[
    Union[
        Annotated[ApiTrigger, Tag("http")],
        Annotated[QueueTrigger, Tag("queue")],
        Annotated[EventTrigger, Tag("event")],
        Annotated[CronTrigger, Tag("cron")],
        Annotated[StateTrigger, Tag("state")],
        Annotated[StreamTrigger, Tag("stream")],
    ],
    Discriminator(
        _trigger_tag,
        custom_error_type="invalid_trigger",
        custom_error_message="a trigger needs a 'type' of http, api, queue, event, cron, state or stream",
    ),
]


def http(
    method: str,
    path: str,
    *,
    body_schema: Any = None,
    response_schema: dict[int, Any] | None = None,
    query_params: list[Any] | None = None,
    middleware: list[Callable[..., Any]] | None = None,
    condition: TriggerCondition | None = None,
    content_types: list[str] | None = None,
    authentication_classes: list[Any] | None = None,
    permission_classes: list[Any] | None = None,
    throttle_classes: list[Any] | None = None,
) -> ApiTrigger:
    """An HTTP trigger: ``http("GET", "/todos/:id")``; ``content_types`` admits bodies other than JSON;
    the ``*_classes`` are Django REST framework policies (``docs/http.md``)."""
    return ApiTrigger(
        method=method,
        path=path,
        body_schema=body_schema,
        response_schema=response_schema,
        query_params=query_params,
        middleware=middleware,
        condition=condition,
        content_types=content_types,
        authentication_classes=authentication_classes,
        permission_classes=permission_classes,
        throttle_classes=throttle_classes,
    )


def api(method: str, path: str, **options: Any) -> ApiTrigger:
    """Deprecated name of :func:`http`."""
    warnings.warn("api() is deprecated; use http()", DeprecationWarning, stacklevel=2)
    return http(method, path, **options)


def queue(
    topic: str,
    *,
    input: Any = None,
    config: QueueConfig | dict[str, Any] | None = None,
    condition: TriggerCondition | None = None,
) -> QueueTrigger:
    """A queue trigger: one delivery per message enqueued to ``topic``."""
    queue_config = QueueConfig.model_validate(config) if isinstance(config, dict) else config
    return QueueTrigger(topic=topic, input=input, config=queue_config, condition=condition)


def cron(expression: str, *, condition: TriggerCondition | None = None) -> CronTrigger:
    """A cron trigger: ``cron("0 9 * * *")`` or ``cron("*/5 * * * * *")``."""
    return CronTrigger(cron=expression, condition=condition)


def state(*, condition: TriggerCondition | None = None) -> StateTrigger:
    """A state trigger: fires on every change to ``ctx.state``."""
    return StateTrigger(condition=condition)


def stream(
    stream_name: str,
    *,
    group_id: str | None = None,
    item_id: str | None = None,
    condition: TriggerCondition | None = None,
) -> StreamTrigger:
    """A stream trigger: fires on creates, updates and deletes in ``stream_name``."""
    return StreamTrigger(stream_name=stream_name, group_id=group_id, item_id=item_id, condition=condition)
