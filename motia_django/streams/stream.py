"""``Stream("todos")`` and ``ctx.streams``: stream declarations and their storage API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from django.db import transaction

from ..execution import Pending, in_async_code, in_thread, sync_or_async
from ..schemas import Schema, compile_schema
from ..store import JsonStore, SetResult

__all__ = ["Stream", "StreamConfig", "StreamRedeclared", "Streams", "UnknownStream", "declared_streams"]

TData = TypeVar("TData")


class UnknownStream(LookupError):
    """A stream name nobody declared."""


class StreamRedeclared(ValueError):
    """A second declaration of a stream that differs in schema or ``can_access``: one would
    silently replace the other (and could open a stream another file closed)."""


@dataclass
class StreamConfig:
    """A stream declaration: name, optional schema (pydantic model or JSON Schema), access hook."""

    name: str
    schema: Any = None
    base_config: dict[str, Any] = field(default_factory=dict)
    can_access: Callable[..., Any] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a stream needs a non-empty name")
        self.compiled_schema: Schema | None = compile_schema(self.schema)

    @classmethod
    def from_value(cls, value: Any) -> StreamConfig:
        """A declaration from a ``StreamConfig`` or a dict with camelCase or snake_case keys."""
        if isinstance(value, StreamConfig):
            return value
        if not isinstance(value, Mapping):
            raise TypeError(f"a stream config is a StreamConfig or a dict, not {type(value).__name__}")
        aliases = {"name": "name", "schema": "schema", "baseConfig": "base_config", "base_config": "base_config",
                   "canAccess": "can_access", "can_access": "can_access"}
        unknown = sorted(set(value) - set(aliases))
        if unknown:
            raise ValueError(f"unknown stream config key(s): {', '.join(unknown)}")
        options = {aliases[key]: item for key, item in value.items()}
        if "name" not in options:
            raise ValueError("a stream config needs a 'name'")
        return cls(**options)


_declared: dict[str, StreamConfig] = {}
_lock = threading.Lock()


def _schema_identity(schema: Any) -> Any:
    """What makes two schemas the same: the JSON Schema they stand for (a file executed again
    by a new discovery makes a new pydantic class that is still the same schema)."""
    if schema is None:
        return None
    document = schema.model_json_schema() if hasattr(schema, "model_json_schema") else schema
    return json.dumps(document, sort_keys=True, default=repr)


def _hook_identity(hook: Callable[..., Any] | None) -> Any:
    if hook is None:
        return None
    return getattr(hook, "__module__", None), getattr(hook, "__qualname__", repr(hook))


def _conflict(known: StreamConfig, config: StreamConfig) -> str | None:
    if _schema_identity(known.schema) != _schema_identity(config.schema):
        return "schema"
    if _hook_identity(known.can_access) != _hook_identity(config.can_access):
        return "can_access"
    return None


def _declare(config: StreamConfig) -> StreamConfig:
    """Record a declaration; a bare ``Stream(name)`` only refers to an earlier one."""
    with _lock:
        known = _declared.get(config.name)
        bare = config.schema is None and config.can_access is None
        if known is not None and bare:
            return known
        if known is not None and not (known.schema is None and known.can_access is None):
            differs = _conflict(known, config)
            if differs is not None:
                raise StreamRedeclared(
                    f"stream {config.name!r} is already declared with another {differs}; declare each stream "
                    "once (one *_stream.py file, settings entry or Stream(...) with schema and can_access) and "
                    f"refer to it elsewhere as Stream({config.name!r})")
        _declared[config.name] = config
        return config


def declared_streams() -> dict[str, StreamConfig]:
    return dict(_declared)


class Stream(Generic[TData]):
    """A stream of items by group and id; declaring one makes ``ctx.streams[name]`` work."""

    def __init__(self, name: str | StreamConfig, schema: Any = None, **options: Any) -> None:
        config = name if isinstance(name, StreamConfig) else StreamConfig(name, schema, **options)
        self._config = _declare(config)
        self.name = config.name

    @property
    def config(self) -> StreamConfig:
        """The current declaration: a later ``*_stream.py`` or settings entry may add schema and access."""
        return _declared.get(self.name, self._config)

    @property
    def _store(self) -> JsonStore:
        from ..models import StreamItem

        return JsonStore(StreamItem, stream=self.name)

    def _validated(self, data: Any) -> Any:
        if self.config.compiled_schema is not None:
            self.config.compiled_schema.validate(data)
        return data

    def _get(self, group_id: str, item_id: str) -> Any:
        return self._store.get(group_id, item_id)

    def _set(self, group_id: str, item_id: str, data: Any) -> SetResult:
        return self._store.set(group_id, item_id, self._validated(data))

    def _update(self, group_id: str, item_id: str, ops: Sequence[Mapping[str, Any]]) -> SetResult:
        return self._store.update(group_id, item_id, ops)

    def _delete(self, group_id: str, item_id: str) -> Any:
        return self._store.delete(group_id, item_id)

    def _get_group(self, group_id: str) -> list[Any]:
        return self._store.list(group_id)

    def _list_groups(self) -> list[str]:
        return self._store.list_groups()

    get = sync_or_async("stream.get")(_get)
    set = sync_or_async("stream.set")(_set)
    update = sync_or_async("stream.update")(_update)
    delete = sync_or_async("stream.delete")(_delete)
    get_group = sync_or_async("stream.get_group")(_get_group)
    list = get_group
    list_groups = sync_or_async("stream.list_groups")(_list_groups)

    aget = in_thread(_get)
    aset = in_thread(_set)
    aupdate = in_thread(_update)
    adelete = in_thread(_delete)
    aget_group = in_thread(_get_group)
    alist = aget_group
    alist_groups = in_thread(_list_groups)

    def send(self, target: Mapping[str, Any], event: Mapping[str, Any]) -> Any:
        """Send an ephemeral ``{"type", "data"}`` event to a group's (``{"groupId"}``) or an item's
        (``{"groupId", "id"}``) WebSocket subscribers; nothing is stored.

        Awaitable in async code.  In sync code inside a transaction it goes out on
        commit, like the changes written next to it.
        """
        from .realtime import event_frame, publish

        frame = event_frame(self.name, target, event)
        if not in_async_code():
            transaction.on_commit(lambda: publish(frame))
            return None

        async def sent() -> None:
            publish(frame)

        return Pending("stream.send", sent)

    def __repr__(self) -> str:
        return f"Stream({self.name!r})"


class Streams:
    """``ctx.streams``: declared streams by item (``ctx.streams["todos"]``) or attribute."""

    def __getitem__(self, name: str) -> Stream[Any]:
        if name not in _declared:
            known = ", ".join(sorted(_declared)) or "none"
            raise UnknownStream(f"stream {name!r} is not declared (declared: {known}); declare it with "
                                f"Stream({name!r}), a *_stream.py file or MOTIA['STREAMS']")
        return Stream(name)

    def __getattr__(self, name: str) -> Stream[Any]:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self[name]
        except UnknownStream as exc:
            raise AttributeError(str(exc)) from None

    def __contains__(self, name: object) -> bool:
        return name in _declared
