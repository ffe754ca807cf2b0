"""Fails once; with ``MOTIA_TEST_CRASH_AFTER_HANDOFF=1`` its worker process dies just after the retry is committed.

That is the moment between handing a retry on and acknowledging the message:
the broker then hands the first attempt out again.
"""

import os

from django.db import transaction
from django.db.models.signals import post_save

from motia import queue, step
from motia_django.models import Execution


def handle(data, ctx):
    calls = ctx.state.update("handoff-calls", data["id"], [{"type": "increment", "path": "calls", "value": 1}])
    if calls.new_value["calls"] == 1:
        raise RuntimeError("first attempt fails")


def _die_after_commit(sender, instance, created, **kwargs):
    if instance.step == "handoff" and instance.status == Execution.Status.FAILED:
        transaction.on_commit(lambda: os._exit(1))


if os.environ.get("MOTIA_TEST_CRASH_AFTER_HANDOFF") == "1":
    post_save.connect(_die_after_commit, sender=Execution, dispatch_uid="test-die-after-handoff")

consumer = step({"name": "handoff",
                 "triggers": [queue("t.handoff", config={"max_retries": 3, "backoff_delay_ms": 100})]}, handle)
