"""``ctx.enqueue``: validate a message and queue one copy for every subscriber."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from ..conf import motia_settings
from ..execution import in_thread, sync_or_async
from ..registry import get_registry
from ..tracing.ids import new_message_id
from ..tracing.otel import trace_context
from .outbox import dispatch
from .policy import policy_for

__all__ = [
    "InvalidMessage", "MessageTooLarge", "UnknownTopic", "apublish", "build_envelope", "parse_message", "publish",
]

_MISSING: Any = object()


class InvalidMessage(ValueError):
    """The payload is not JSON, is too large, or lacks a FIFO group id."""


class MessageTooLarge(InvalidMessage):
    """The payload is more than ``MAX_MESSAGE_BYTES``."""


class UnknownTopic(LookupError):
    """No step declares this topic."""


def parse_message(message: Mapping[str, Any] | str, data: Any = _MISSING) -> tuple[str, Any, str | None]:
    """``enqueue({"topic", "data", "messageGroupId"?})`` or ``enqueue(topic, data)``: topic, data, group."""
    if isinstance(message, str):
        return message, (None if data is _MISSING else data), None
    if isinstance(message, Mapping):
        if "topic" not in message:
            raise ValueError("enqueue() needs a 'topic'")
        return message["topic"], message.get("data"), message.get("messageGroupId", message.get("message_group_id"))
    raise TypeError(f"enqueue() takes a dict or a topic name, not {type(message).__name__}")


def build_envelope(
    topic: str | None,
    data: Any,
    *,
    trace_id: str,
    message_group_id: str | None = None,
    source: str | None = None,
    depth: int = 0,
) -> dict[str, Any]:
    """The JSON document every background execution receives (``data`` plus routing and tracing)."""
    try:
        encoded = json.dumps(data, allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidMessage(f"message for {topic or source!r} is not JSON-serialisable: {exc}") from None
    limit = motia_settings().MAX_MESSAGE_BYTES
    if len(encoded) > limit:
        raise MessageTooLarge(f"message for {topic or source!r} is {len(encoded)} bytes; the limit is {limit}")
    envelope: dict[str, Any] = {
        "id": new_message_id(),
        "topic": topic,
        "data": json.loads(encoded),  # a copy: later changes to the caller's data are not sent
        "traceId": trace_id,
        "messageGroupId": message_group_id,
        "source": source,
        "depth": depth,
        "enqueuedAt": time.time(),
    }
    carrier = trace_context()
    if carrier:
        envelope["traceContext"] = carrier  # the consumer's span continues the enqueuing span's trace
    return envelope


def _publish(
    topic: str, data: Any, trace_id: str, message_group_id: str | None, source: str | None, depth: int = 0
) -> None:
    registry = get_registry()
    if topic not in registry.known_topics:
        raise UnknownTopic(f"no step declares topic {topic!r}")
    subscribers = registry.subscribers(topic)
    fifo = [b.step.name for b in subscribers if policy_for(b).fifo]
    if fifo and not message_group_id:
        raise InvalidMessage(
            f"topic {topic!r} has FIFO subscribers ({', '.join(fifo)}): enqueue with a 'messageGroupId'"
        )
    envelope = build_envelope(
        topic, data, trace_id=trace_id, message_group_id=message_group_id, source=source, depth=depth
    )
    if subscribers:
        dispatch(subscribers, envelope)


publish = sync_or_async("enqueue")(_publish)
apublish = in_thread(_publish)
