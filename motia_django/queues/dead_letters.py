"""Dead letters: messages that exhausted their retries, kept for inspection and replay."""

from __future__ import annotations

import traceback as tb
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.db import transaction
from django.db.models import Min

from .. import metrics
from ..integrations import announce_dead_letter, announce_replay
from ..models import DeadLetter, Execution
from ..registry import Binding
from .bindings import find_binding
from .outbox import dispatch
from .unknown import HOLD_FIELDS

__all__ = ["UnknownBinding", "bury", "replay", "replay_many"]


class UnknownBinding(LookupError):
    """The dead letter's step or trigger no longer exists."""


def bury(binding: Binding, envelope: dict[str, Any], error: BaseException, attempts: int) -> DeadLetter:
    first = Execution.objects.filter(message_id=envelope["id"], binding=binding.key).aggregate(
        first=Min("started_at"))["first"]
    metrics.dead_letter_written(binding.step.name)
    if first is None and envelope.get("enqueuedAt"):
        first = datetime.fromtimestamp(envelope["enqueuedAt"], tz=UTC)
    letter = DeadLetter.objects.create(
        step=binding.step.name,
        topic=binding.topic or "",
        binding=binding.key,
        message_id=envelope["id"],
        trace_id=envelope["traceId"],
        payload=envelope.get("data"),
        envelope=envelope,
        error=f"{type(error).__name__}: {error}",
        error_type=type(error).__name__,
        traceback="".join(tb.format_exception(error)),
        attempts=attempts,
        first_attempt_at=first,
    )
    announce_dead_letter(letter, error)
    return letter


def replay(dead_letter: DeadLetter) -> None:
    """Deliver the message again (with fresh attempts) to the step that failed it, and forget it."""
    binding = find_binding(dead_letter.binding)
    if binding is None:
        raise UnknownBinding(f"step trigger {dead_letter.binding!r} no longer exists; cannot replay")
    kept = {k: v for k, v in dead_letter.envelope.items() if k not in HOLD_FIELDS}
    envelope = {**kept, "id": str(uuid.uuid4()), "replayOf": dead_letter.message_id}
    with transaction.atomic():
        dispatch([binding], envelope, delay=0)
        dead_letter.delete()
        announce_replay(dead_letter, envelope)


def replay_many(dead_letters: Iterable[DeadLetter]) -> tuple[list[int], dict[int, str]]:
    """Replay each letter on its own: the ids replayed, and why each other one could not be."""
    replayed: list[int] = []
    refused: dict[int, str] = {}
    for letter in dead_letters:
        letter_id = letter.pk
        try:
            replay(letter)
        except UnknownBinding as exc:
            refused[letter_id] = str(exc)
        else:
            replayed.append(letter_id)
    return replayed, refused
