"""Changes to state and stream items become state and stream triggers.

``post_save`` / ``post_delete`` on :class:`StateEntry` and :class:`StreamItem`
(connected by :func:`connect`, from the app's ``ready()``) describe the change;
once the transaction commits, each watching step gets it through the queue
runtime (same retries and dead letters as messages) and
:data:`motia_django.signals.stream_changed` tells real-time subscribers.  A
rolled-back write fires nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from . import signals
from .conf import motia_settings
from .execution import current_context
from .models import KeyedValue, StateEntry, StreamItem
from .queues import payloads
from .queues.outbox import dispatch
from .queues.publisher import MessageTooLarge, build_envelope
from .registry import Binding, get_registry
from .steps.triggers import StreamTrigger
from .tracing import new_trace_id

__all__ = ["connect"]

logger = logging.getLogger("motia.triggers")

def _origin() -> tuple[str, int]:
    ctx = current_context()
    return (ctx.trace_id, ctx.depth + 1) if ctx is not None else (new_trace_id(), 1)


def _fire(bindings: list[Binding], data: dict[str, Any], what: str) -> None:
    if not bindings:
        return
    trace_id, depth = _origin()
    limit = motia_settings().MAX_TRIGGER_DEPTH
    if depth > limit:
        logger.error(
            "stopped a runaway trigger chain: %s is %d hops deep (MAX_TRIGGER_DEPTH=%d), trace %s",
            what, depth, limit, trace_id,
        )
        return
    try:
        envelope = build_envelope(None, data, trace_id=trace_id, source=what, depth=depth)
    except MessageTooLarge:  # old and new values together: the message refers to them instead
        envelope = build_envelope(None, payloads.store(data), trace_id=trace_id, source=what, depth=depth)
    dispatch(bindings, envelope)


def _state_change(instance: KeyedValue, event_type: str, old: Any, new: Any) -> None:
    data = {"group_id": instance.group, "item_id": instance.key, "old_value": old, "new_value": new,
            "event_type": event_type}
    _fire(get_registry().state_watchers, data, f"state {instance.group}/{instance.key}")


def _watches(binding: Binding, item: StreamItem) -> bool:
    trigger = binding.trigger
    assert isinstance(trigger, StreamTrigger)
    return (
        trigger.stream_name == item.stream
        and trigger.group_id in (None, item.group)
        and trigger.item_id in (None, item.key)
    )


def _stream_change(item: StreamItem, event_type: str, value: Any) -> None:
    data = {"stream_name": item.stream, "group_id": item.group, "id": item.key,
            "event": {"type": event_type, "data": value}, "timestamp": int(time.time() * 1000)}
    _fire([b for b in get_registry().stream_watchers if _watches(b, item)], data, f"stream {item.stream}")
    version = item.version
    transaction.on_commit(
        lambda: signals.stream_changed.send(sender=StreamItem, stream=item.stream, group_id=item.group,
                                            item_id=item.key, event=data["event"], version=version,
                                            timestamp=data["timestamp"])
    )


def state_saved(sender: Any, instance: StateEntry, created: bool, **kwargs: Any) -> None:
    _state_change(instance, "created" if created else "updated", None if created else instance.previous_value,
                  instance.value)


def state_deleted(sender: Any, instance: StateEntry, **kwargs: Any) -> None:
    _state_change(instance, "deleted", instance.value, None)


def stream_saved(sender: Any, instance: StreamItem, created: bool, **kwargs: Any) -> None:
    _stream_change(instance, "create" if created else "update", instance.value)


def stream_deleted(sender: Any, instance: StreamItem, **kwargs: Any) -> None:
    _stream_change(instance, "delete", instance.value)


def connect() -> None:
    post_save.connect(state_saved, sender=StateEntry, dispatch_uid="motia-state-saved")
    post_delete.connect(state_deleted, sender=StateEntry, dispatch_uid="motia-state-deleted")
    post_save.connect(stream_saved, sender=StreamItem, dispatch_uid="motia-stream-saved")
    post_delete.connect(stream_deleted, sender=StreamItem, dispatch_uid="motia-stream-deleted")
