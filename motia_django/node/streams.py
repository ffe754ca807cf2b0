"""TypeScript and JavaScript stream files (``*.stream.ts``) as stream declarations.

The Node worker loads the file and reports each stream's name, schema (a zod schema
already turned into JSON Schema) and whether it has a ``canAccess`` hook; the stream
is declared in Python, where items are validated and stored, and a join to it asks
the JS hook through the bridge.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..streams.auth import StreamSubscription
from ..streams.stream import Stream, StreamConfig
from .bridge import get_bridge
from .steps import JsStepFileError, load_in_node

__all__ = ["JS_STREAM_FILE_SUFFIXES", "load_js_stream_file"]

JS_STREAM_FILE_SUFFIXES = (".stream.ts", ".stream.js", ".stream.mts", ".stream.mjs")


def load_js_stream_file(path: Path) -> list[StreamConfig]:
    """Declare the streams of one TypeScript or JavaScript stream file; raises :class:`JsStepFileError`."""
    file = str(path.resolve())
    configs: list[StreamConfig] = []
    for reported in load_in_node(path, "loadStreams")["streams"]:
        name = reported["name"]
        try:
            config = StreamConfig(name=name, schema=reported["schema"], base_config=reported["baseConfig"],
                                  can_access=_can_access(file, name) if reported["canAccess"] else None)
            Stream(config)
        except (TypeError, ValueError) as exc:
            raise JsStepFileError(path, None, str(exc)) from exc
        configs.append(config)
    return configs


def _can_access(file: str, stream: str) -> Callable[[StreamSubscription, Any], bool]:
    def can_access(subscription: StreamSubscription, auth_context: Any) -> bool:
        return bool(get_bridge().request("canAccess", {
            "file": file, "stream": stream,
            "subscription": {"streamName": subscription.stream_name, "groupId": subscription.group_id,
                             "id": subscription.id, "subscriptionId": subscription.subscription_id},
            "authContext": json.loads(json.dumps(auth_context, default=_as_json)),
        }))

    # the same identity on every discovery, so a second one is not a redeclaration
    can_access.__qualname__ = f"canAccess of {stream} ({file})"
    return can_access


def _as_json(value: Any) -> Any:
    """An auth context for JavaScript: a Django user as its id and name, anything else as text."""
    if hasattr(value, "get_username"):
        return {"id": value.pk, "username": value.get_username(), "isStaff": bool(getattr(value, "is_staff", False))}
    return str(value)
