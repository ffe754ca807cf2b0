"""Messages for a step trigger this process does not know: held for one that does, then dead letters.

During a rolling deploy old and new workers consume the same queues, so a new
release's step gets messages on an old worker and a removed step's messages reach
new ones.  Such a message goes back to the outbox for a moment (the relay sends it
again, to whichever worker takes it) until ``MOTIA["UNKNOWN_STEP_GRACE"]`` has
passed since a worker first held it; then it is a dead letter (``UnknownStep``),
replayable once a process knows the step.  Holding is not an attempt.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from .. import metrics
from ..conf import motia_settings
from ..integrations import announce_dead_letter
from ..models import DeadLetter, OutboxMessage
from ..registry import step_named_by

__all__ = ["HOLD_FIELDS", "UnknownStep", "hold_unknown"]

logger = logging.getLogger("motia.queues")

#: The longest wait between two tries of a held message, in seconds (the waits double from 2).
MAX_HOLD_SECONDS = 30.0
#: The envelope fields holding adds; a replay starts without them.
HOLD_FIELDS = ("unknownSince", "unknownHolds")


class UnknownStep(LookupError):
    """No step trigger of the processes that saw a message answers to its binding key."""


def hold_unknown(key: str, envelope: dict[str, Any], queue: str) -> None:
    """Send ``envelope`` again on ``queue`` a little later, or bury it once the grace period is over."""
    now = time.time()
    since = float(envelope.get("unknownSince") or now)
    grace = motia_settings().UNKNOWN_STEP_GRACE
    if now - since >= grace:
        _bury(key, envelope, since, grace)
        return
    holds = int(envelope.get("unknownHolds") or 0) + 1
    delay = min(MAX_HOLD_SECONDS, 2.0**holds)
    OutboxMessage.objects.create(binding=key, queue=queue, envelope={**envelope, "unknownSince": since,
                                                                     "unknownHolds": holds},
                                 eta=timezone.now() + timedelta(seconds=delay))
    logger.warning("no step trigger %s in this worker's steps; message %s waits %.0f s for a worker that knows it",
                   key, envelope.get("id"), delay)


def _bury(key: str, envelope: dict[str, Any], since: float, grace: float) -> None:
    step = step_named_by(key)
    error = UnknownStep(f"no worker knew step trigger {key!r} within {grace:g} s; replay it once a release has it")
    with transaction.atomic():
        letter = DeadLetter.objects.create(
            step=step, topic=envelope.get("topic") or "", binding=key, message_id=envelope["id"],
            trace_id=envelope.get("traceId") or "", payload=envelope.get("data"), envelope=envelope,
            error=f"UnknownStep: {error}", error_type="UnknownStep", attempts=int(envelope.get("attempt", 1)) - 1,
            first_attempt_at=datetime.fromtimestamp(since, tz=UTC),
        )
        announce_dead_letter(letter, error)
    metrics.dead_letter_written(step)
    logger.error("message %s for %s is a dead letter: %s", envelope.get("id"), key, error)
