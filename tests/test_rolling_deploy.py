"""Rolling deploys: old and new processes side by side never lose a message.

A trigger's identity (what messages, FIFO rows, cron ticks and dead letters name)
must not shift when a release adds a trigger above it, and a worker that gets a
message for a step it does not know must hold it for a worker that does, then
dead-letter it, never drop it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.test import override_settings

from motia_django.cron.models import CronTick
from motia_django.cron.tasks import cron_tick
from motia_django.models import DeadLetter, Execution, OutboxMessage, StateEntry
from motia_django.queues.dead_letters import replay_many
from motia_django.queues.publisher import publish
from motia_django.registry import Registry, reload_registry

from .conftest import Process, wait_until

HERE = Path(__file__).resolve().parent
KNOWN = HERE / "rolling_steps" / "known"
ADDED = HERE / "rolling_steps" / "added"
NEWCOMER = "rolling-newcomer#queue:t.rolling"

Worker = Callable[..., Process]

V1 = """
from motia import cron, queue, step
config = {"name": "evolving", "triggers": [queue("t.a"), cron("0 * * * * *")]}
evolving = step(config, lambda data, ctx: None)
"""
#: the next release: triggers added above and between the old ones, and a second identical subscription
V2 = """
from motia import cron, http, queue, state, step
config = {"name": "evolving", "triggers": [http("POST", "/evolving"), state(), queue("t.a"), queue("t.b"),
                                          cron("0 * * * * *"), queue("t.b")]}
evolving = step(config, lambda data, ctx: None)
"""


def release(tmp_path: Path, name: str, source: str) -> Registry:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "evolving_step.py").write_text(source)
    registry = Registry.discover([folder])
    assert registry.errors == []
    return registry


def test_trigger_identities_do_not_shift_when_a_release_adds_triggers(tmp_path: Path) -> None:
    old, new = release(tmp_path, "v1", V1), release(tmp_path, "v2", V2)
    old_keys = {b.key for b in old.background_bindings}
    assert old_keys == {"evolving#queue:t.a", "evolving#cron"}
    assert old_keys <= {b.key for b in new.background_bindings}
    assert sorted(b.key for b in new.subscriptions) == ["evolving#queue:t.a", "evolving#queue:t.b",
                                                        "evolving#queue:t.b~2"]
    assert [b.key for b in new.routes] == ["evolving#http:POST /evolving"]
    assert [b.key for b in new.state_watchers] == ["evolving#state"]
    # ctx.trigger still reports the trigger's position in the config
    assert new.binding("evolving#queue:t.a").trigger_info().index == 2  # type: ignore[union-attr]


def test_keys_of_earlier_releases_still_find_their_trigger(tmp_path: Path) -> None:
    """Messages, FIFO rows and dead letters written before identities were stable name ``step#index``."""
    new = release(tmp_path, "v2", V2)
    assert new.binding("evolving#0:t.a") is new.binding("evolving#queue:t.a")  # the topic decides, not the index
    assert new.binding("evolving#4") is new.binding("evolving#cron")
    assert new.binding("evolving#0:t.unknown") is None
    assert new.binding("evolving#9") is None
    assert new.binding("other#0:t.a") is None


@pytest.mark.django_db
def test_a_tick_for_a_cron_trigger_this_worker_does_not_know_is_kept_once() -> None:
    """The tick is recorded (so a second beat's copy stays a duplicate) and its message waits in the outbox."""
    key, when = "rolling-gone#cron", datetime(2026, 1, 1, 12, 0, 5, tzinfo=UTC).isoformat()
    cron_tick(key, "*/5 * * * * *", when)
    cron_tick(key, "*/5 * * * * *", when)
    assert CronTick.objects.filter(binding=key).count() == 1
    [held] = OutboxMessage.objects.filter(binding=key)
    assert held.queue == "motia._cron"
    assert held.envelope["scheduledAt"] == when


@pytest.fixture
def both_releases() -> Iterator[None]:
    """This process publishes as the new release does: both subscribers of ``t.rolling`` get each message."""
    with override_settings(MOTIA={**settings.MOTIA, "STEPS_DIRS": [*settings.MOTIA["STEPS_DIRS"], str(KNOWN),
                                                                  str(ADDED)]}):
        reload_registry()
        yield
    reload_registry()


def runs(prefix: str) -> dict[str, int]:
    return {k: v["runs"] for k, v in StateEntry.objects.filter(group="rolling", key__startswith=prefix)
            .values_list("key", "value")}


@pytest.mark.slow
@pytest.mark.services
def test_a_message_for_a_step_only_the_new_release_knows_waits_for_it(start_worker: Worker,
                                                                      both_releases: None) -> None:
    old = start_worker("old", MOTIA_TEST_EXTRA_STEPS=str(KNOWN))
    for n in range(20):
        publish("t.rolling", {"n": n}, f"trace-rolling-{n}", None, "test")
    wait_until(lambda: len(runs("veteran-")) == 20, 60, what="the old release's subscriber")
    wait_until(lambda: OutboxMessage.objects.filter(binding=NEWCOMER).exists(), 30, what="held messages")
    assert runs("newcomer-") == {}
    assert "waits" in old.output()
    start_worker("new", MOTIA_TEST_EXTRA_STEPS=f"{KNOWN}:{ADDED}")
    wait_until(lambda: runs("newcomer-"), 60, what="a held message taken by the new release's worker")
    old.stop()  # the deploy goes on
    wait_until(lambda: len(runs("newcomer-")) == 20, 90, what="the new release's subscriber")
    assert set(runs("newcomer-").values()) == {1} and set(runs("veteran-").values()) == {1}
    assert not DeadLetter.objects.exists()
    executions = Execution.objects.filter(step="rolling-newcomer")
    wait_until(lambda: executions.count() >= 20, 30, what="the execution records")
    assert {(status, worker.split("@")[0]) for status, worker in executions.values_list("status", "worker")} == {
        ("succeeded", "new")}
    assert sorted(Counter(executions.values_list("message_id", flat=True)).values()) == [1] * 20


@pytest.mark.slow
@pytest.mark.services
def test_after_the_grace_period_it_is_a_dead_letter_replayed_once_the_step_exists(start_worker: Worker,
                                                                                  both_releases: None) -> None:
    old = start_worker("old", MOTIA_TEST_EXTRA_STEPS=str(KNOWN), MOTIA_UNKNOWN_STEP_GRACE="3")
    for n in range(5):
        publish("t.rolling", {"n": n}, f"trace-rolling-{n}", None, "test")
    wait_until(lambda: DeadLetter.objects.filter(binding=NEWCOMER).count() == 5, 60, what="dead letters")
    letter = DeadLetter.objects.filter(binding=NEWCOMER).first()
    assert letter is not None
    assert (letter.step, letter.topic, letter.error_type) == ("rolling-newcomer", "t.rolling", "UnknownStep")
    assert letter.attempts == 0  # waiting for a worker that knows the step is not an attempt
    assert "rolling-newcomer" in letter.error and letter.payload is not None
    assert not OutboxMessage.objects.filter(binding=NEWCOMER).exists()
    assert runs("newcomer-") == {}
    old.stop()  # the deploy is over
    start_worker("new", MOTIA_TEST_EXTRA_STEPS=f"{KNOWN}:{ADDED}")
    replayed, refused = replay_many(DeadLetter.objects.filter(binding=NEWCOMER))
    assert (len(replayed), refused) == (5, {})
    wait_until(lambda: len(runs("newcomer-")) == 5, 60, what="replayed messages")
    assert json.dumps(sorted(runs("newcomer-"))) == json.dumps([f"newcomer-{n}" for n in range(5)])
