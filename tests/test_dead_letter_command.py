"""``motia_dlq``: listing, replaying and purging dead letters from a shell."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from motia_django.models import DeadLetter, OutboxMessage

pytestmark = pytest.mark.django_db(transaction=True)


def bury(step: str, binding: str, topic: str, error_type: str = "RuntimeError") -> DeadLetter:
    message_id = str(uuid.uuid4())
    envelope = {"id": message_id, "topic": topic, "data": {"id": "x"}, "traceId": "trace-1", "attempt": 3}
    return DeadLetter.objects.create(step=step, topic=topic, binding=binding, message_id=message_id,
                                     trace_id="trace-1", payload={"id": "x"}, envelope=envelope,
                                     error=f"{error_type}: boom", error_type=error_type, attempts=3)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("motia_dlq", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_list_filters_by_step_topic_and_error() -> None:
    bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed")
    bury("retry-validated", "retry-validated#0:t.validated", "t.validated", "InvalidInput")
    assert "2 dead letter(s)" in run("list")
    listed = run("list", "--error", "InvalidInput")
    assert "retry-validated" in listed and "retry-fixed" not in listed and "1 dead letter(s)" in listed
    assert "1 dead letter(s)" in run("list", "--topic", "t.fixed")


def test_replay_sends_the_message_again_with_fresh_attempts(monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[str, dict[str, object]]] = []
    from motia_django.queues.app import celery_app

    monkeypatch.setattr(celery_app(), "send_task",
                        lambda name, args, **options: sent.append(args) if name == "motia.deliver" else None)
    letter = bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed")
    assert "replayed 1 dead letter(s)" in run("replay", str(letter.id))
    assert not DeadLetter.objects.exists() and not OutboxMessage.objects.exists()
    [(binding, envelope)] = sent
    assert binding == "retry-fixed#queue:t.fixed"  # a letter of an earlier release goes to the same trigger
    assert envelope["replayOf"] == letter.message_id and envelope["id"] != letter.message_id
    assert envelope["data"] == {"id": "x"} and envelope["traceId"] == "trace-1"


def test_replay_of_a_removed_step_fails_and_keeps_the_letter() -> None:
    bury("gone", "gone#0:t.gone", "t.gone")
    with pytest.raises(CommandError, match="could not be replayed"):
        run("replay")
    assert DeadLetter.objects.count() == 1


def test_purge_needs_confirmation_or_yes(monkeypatch: pytest.MonkeyPatch) -> None:
    bury("retry-fixed", "retry-fixed#0:t.fixed", "t.fixed")
    monkeypatch.setattr("builtins.input", lambda prompt: "n")
    with pytest.raises(CommandError, match="nothing deleted"):
        run("purge")
    assert DeadLetter.objects.count() == 1
    assert "deleted 1 dead letter(s)" in run("purge", "--yes")
    assert not DeadLetter.objects.exists()
