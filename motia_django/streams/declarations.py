"""Streams declared outside step files: ``*_stream.py`` files and ``MOTIA["STREAMS"]``.

A stream file holds ``config = StreamConfig(name=..., schema=..., can_access=...)``
(or the same as a dict, with Motia's camelCase keys or snake_case).  Settings hold
names, option dicts, or a dict of name -> options, with dotted paths where code
is needed (``can_access``, a pydantic ``schema``).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from django.utils.module_loading import import_string

from .stream import Stream, StreamConfig

__all__ = ["declare_from_settings", "declare_module_streams"]


def declare_module_streams(module: ModuleType) -> list[StreamConfig]:
    """Declare the streams of an executed stream file: its ``config``, ``StreamConfig``s and ``Stream``s."""
    found = [value.config if isinstance(value, Stream) else value
             for value in vars(module).values() if isinstance(value, StreamConfig | Stream)]
    config = getattr(module, "config", None)
    if isinstance(config, Mapping):
        found.append(StreamConfig.from_value(config))
    elif config is not None and not isinstance(config, StreamConfig):
        raise TypeError(f"config is a {type(config).__name__}; a stream file needs a StreamConfig or a dict")
    if not found:
        raise ValueError("defines no stream: set config = StreamConfig(name=...) or a dict with a 'name'")
    for stream in found:
        Stream(stream)
    return found


def _resolved(options: Mapping[str, Any]) -> dict[str, Any]:
    resolved = dict(options)
    for key in ("schema", "can_access", "canAccess"):
        if isinstance(resolved.get(key), str):
            resolved[key] = import_string(resolved[key])
    return resolved


def declare_from_settings(entries: Any) -> list[StreamConfig]:
    """Declare ``MOTIA["STREAMS"]``; raises ``ValueError``/``TypeError``/``ImportError`` on a bad entry."""
    if isinstance(entries, Mapping):
        entries = [{"name": name, **(options or {})} for name, options in entries.items()]
    elif isinstance(entries, str):
        entries = [entries]
    configs = []
    for entry in entries:
        options = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(options, Mapping):
            raise TypeError(f"MOTIA['STREAMS'] entries are names or dicts, not {type(entry).__name__}")
        config = StreamConfig.from_value(_resolved(options))
        Stream(config)
        configs.append(config)
    return configs
