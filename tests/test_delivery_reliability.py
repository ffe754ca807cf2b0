"""Delivery under infrastructure faults: database outages, hard time limits, long handlers, crashes
between hand-off and acknowledgement, late commits, a broker that is down, waiting for a slot.

Every test runs real Celery workers on a real broker and database, and counts what each message did.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.conf import settings
from django.db import connection, transaction
from django.test import Client, override_settings

from motia_django.models import (
    ConcurrencySlot,
    DeadLetter,
    Execution,
    FifoGroup,
    Lease,
    OutboxMessage,
    StateEntry,
    WaitingMessage,
)
from motia_django.queues.publisher import publish

from .conftest import Process, free_port, service_up, start_uvicorn, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.services]

Worker = Callable[..., Process]


def post(path: str, body: dict[str, Any]) -> int:
    return int(Client().post(path, json.dumps(body), content_type="application/json").status_code)


def state(scope: str) -> dict[str, Any]:
    return dict(StateEntry.objects.filter(group=scope).values_list("key", "value"))


def outcomes(step: str) -> dict[str, tuple[int, int]]:
    """Per message id of ``step``: (succeeded executions, dead letters)."""
    result: dict[str, tuple[int, int]] = {}
    for message_id in set(Execution.objects.filter(step=step).values_list("message_id", flat=True)):
        succeeded = Execution.objects.filter(step=step, message_id=message_id, status="succeeded").count()
        result[message_id] = (succeeded, DeadLetter.objects.filter(step=step, message_id=message_id).count())
    return result


@contextmanager
def database_outage() -> Iterator[Callable[[], None]]:
    """Refuse every other connection to the test database until the returned function (or the exit) ends it.

    PostgreSQL: the database stops accepting connections and every session but this test's is
    terminated.  SQLite: this test holds the write lock, so every other writer gets
    ``database is locked``.
    """
    ended = threading.Event()
    if connection.vendor == "postgresql":
        import psycopg

        db = connection.settings_dict
        name = db["NAME"]
        own = connection.cursor().connection.info.backend_pid
        admin = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                                dbname="postgres", autocommit=True)
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> %s",
                      (name, own))

        def end() -> None:
            if not ended.is_set():
                admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
                admin.close()
                ended.set()
    else:
        holder = sqlite3.connect(connection.settings_dict["NAME"], timeout=30, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")

        def end() -> None:
            if not ended.is_set():
                holder.execute("ROLLBACK")
                holder.close()
                ended.set()
    try:
        yield end
    finally:
        end()


def test_a_database_outage_during_retries_loses_nothing(start_worker: Worker) -> None:
    """200 messages retrying (half of them through ``concurrency: 4``) while the database is down for 30 s."""
    start_worker("d1", MOTIA_OUTAGE_PATIENCE="10")
    start_worker("d2", MOTIA_OUTAGE_PATIENCE="10")
    assert post("/outage", {"count": 100}) == 202
    assert post("/outage", {"count": 100, "offset": 1000, "topic": "t.outage-limited"}) == 202
    wait_until(lambda: Execution.objects.filter(step__startswith="outage-", status="failed").count() >= 50, 60,
               what="retries under way")
    with database_outage():
        time.sleep(float(os.environ.get("MOTIA_TEST_OUTAGE_SECONDS", "30")))
    connection.close()

    def settled() -> bool:
        ended = [o for step in ("outage-plain", "outage-limited") for o in outcomes(step).values()]
        return len(ended) == 200 and all(o in ((1, 0), (0, 1)) for o in ended)

    def progress() -> str:
        ended = [o for step in ("outage-plain", "outage-limited") for o in outcomes(step).values()]
        return (f"every message to succeed or be dead-lettered: {len(ended)} seen, "
                f"{sorted(set(ended))} outcomes, {OutboxMessage.objects.count()} in the outbox, "
                f"{WaitingMessage.objects.count()} waiting, "
                f"slots {list(ConcurrencySlot.objects.values_list('holder', 'leased_until'))}")

    try:
        wait_until(settled, 180, interval=1)
    except AssertionError:
        raise AssertionError(progress()) from None
    for step, offset in (("outage-plain", 0), ("outage-limited", 1000)):
        assert len(outcomes(step)) == 100
        letters = DeadLetter.objects.filter(step=step)
        assert sorted(letter.payload["n"] - offset for letter in letters) == list(range(1, 100, 2))
        assert Execution.objects.filter(step=step, status="succeeded").count() == 50
    assert not OutboxMessage.objects.exists() and not WaitingMessage.objects.exists()


def test_a_hard_time_limit_ends_in_a_dead_letter(start_worker: Worker) -> None:
    """A handler no timeout can stop is killed by the hard time limit, retried, then dead-lettered."""
    worker = start_worker("h1", concurrency=1, MOTIA_OUTAGE_PATIENCE="1")
    # the sender sets the hard limit (handler timeout + patience + 5 s): 7 s here
    with override_settings(MOTIA={**settings.MOTIA, "OUTAGE_PATIENCE": 1}):
        publish("t.blocked", {"id": "b1"}, "trace-blocked", None, "test")
    wait_until(lambda: DeadLetter.objects.filter(step="blocked").exists(), 90, interval=0.5,
               what=f"a dead letter\n{worker.tail()}")
    letter = DeadLetter.objects.get(step="blocked")
    assert letter.error_type == "TooManyAttempts"
    assert state("blocked-runs") == {"b1": {"runs": 2}}  # max_retries 1: two runs, both killed


def test_handlers_longer_than_the_visibility_timeout_run_once(start_worker: Worker) -> None:
    """Redis hands out again what a worker holds longer than the visibility timeout: it must cover the steps."""
    count = int(os.environ.get("MOTIA_TEST_LONG_COUNT", "8"))
    seconds = float(os.environ.get("MOTIA_TEST_LONG_SECONDS", "8"))
    start_worker("l1")
    start_worker("l2")
    assert post("/long", {"count": count, "seconds": seconds}) == 202
    rounds = -(-count // 4)
    wait_until(lambda: len(state("long-runs")) == count, rounds * seconds * 2 + 60, interval=1,
               what="every long handler")
    time.sleep(min(seconds, 10))  # a copy handed out again would be running by now
    assert {k: v["runs"] for k, v in state("long-runs").items()} == {str(n): 1 for n in range(count)}
    assert len(state("long-spans")) == count
    assert not DeadLetter.objects.filter(step="long-consumer").exists()


def test_a_crash_between_hand_off_and_acknowledgement_does_not_fork_the_message(start_worker: Worker) -> None:
    """The first attempt's copy, handed out again after its retry was committed, is recognised and dropped."""
    worker = start_worker("c1", concurrency=1, MOTIA_TEST_CRASH_AFTER_HANDOFF="1")
    publish("t.handoff", {"id": "h1"}, "trace-handoff", None, "test")
    wait_until(lambda: Execution.objects.filter(step="handoff", status="succeeded").exists(), 60, interval=0.5,
               what=f"the retry to succeed\n{worker.tail()}")
    time.sleep(3)  # a forked second chain would run by now
    assert state("handoff-calls") == {"h1": {"calls": 2}}
    attempts = sorted(Execution.objects.filter(step="handoff").values_list("attempt", "status"))
    assert attempts == [(1, "failed"), (2, "succeeded")], attempts
    assert "dropped the copy" in worker.output()


def _commit_late(indexes: list[int]) -> None:
    """One transaction per index, each enqueueing one message and committing 6-10 s later."""
    try:
        for index in indexes:
            with transaction.atomic():
                publish("t.late-commit", {"id": f"m{index}"}, f"trace-late-{index}", None, "test")
                time.sleep(random.uniform(6, 10))
    finally:
        connection.close()


def test_a_transaction_that_commits_late_sends_its_message_once(start_worker: Worker) -> None:
    """The publisher's commit hook and the relay both see the row: only one of them may send it."""
    start_worker("o1")
    if connection.vendor == "postgresql":
        count, threads = 100, 25  # 25 connections at a time, four transactions each
    else:
        count, threads = 3, 1  # SQLite has one writer: its transactions take turns
    workers = [threading.Thread(target=_commit_late, args=(list(range(n, count, threads)),))
               for n in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    wait_until(lambda: len(state("late-commit")) == count, 60, what="every late message")
    time.sleep(2)  # a second copy would arrive by now
    assert {k: v["runs"] for k, v in state("late-commit").items()} == {f"m{n}": 1 for n in range(count)}
    assert not OutboxMessage.objects.exists()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[str, Callable[[], None], Callable[[], None]]]:
    """A Redis of this test alone: its URL, and functions that stop and start it."""
    port = free_port()
    args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    running: list[Process] = []

    def start() -> None:
        running.append(Process(args, dict(os.environ), tmp_path / f"redis-{len(running)}.log"))
        wait_until(lambda: service_up("127.0.0.1", port), 10, what="private redis")

    def stop() -> None:
        while running:
            running.pop().stop()

    start()
    yield f"redis://127.0.0.1:{port}/0", stop, start
    stop()


@contextmanager
def counting_publishes(url: str, queue: str) -> Iterator[list[int]]:
    """Count the messages pushed onto ``queue`` meanwhile (Celery publishes to Redis with LPUSH)."""
    import redis

    counted = [0]
    ready = threading.Event()
    stopping = threading.Event()

    def watch() -> None:
        with redis.Redis.from_url(url).monitor() as monitor:
            ready.set()
            for command in monitor.listen():
                text = command["command"]
                if text.startswith("LPUSH") and queue in text.split(" ", 2)[1]:
                    counted[0] += 1
                if stopping.is_set() and text.startswith("PING"):
                    return

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    ready.wait(5)
    try:
        yield counted
    finally:
        stopping.set()
        redis.Redis.from_url(url).ping()
        watcher.join(10)


def test_messages_waiting_for_a_slot_cost_nothing_and_keep_their_order(
        start_worker: Worker, tmp_path: Path, private_redis: tuple[str, Any, Any]) -> None:
    url, _, _ = private_redis
    count = int(os.environ.get("MOTIA_TEST_WAITING_COUNT", "1000"))
    start_worker("s1", broker=url)
    server, base = start_uvicorn(tmp_path / "uvicorn.log", CELERY_BROKER_URL=url)
    try:
        with counting_publishes(url, "t.one-at-a-time") as publishes:
            assert httpx.post(f"{base}/one-at-a-time", json={"count": count}, timeout=60).status_code == 202
            wait_until(lambda: len(state("one-at-a-time")) == count, 300, interval=1, what="every waiting message")
    finally:
        server.stop()
    print(f"{count} messages through concurrency 1: {publishes[0]} publishes")
    # one publish per message, and at most one more when it is woken from waiting
    assert publishes[0] <= 2 * count, publishes
    started = sorted(state("one-at-a-time").items(), key=lambda item: item[1]["start"])
    order = [int(key) for key, _ in started]
    displaced = [(position, n) for position, n in enumerate(order) if abs(position - n) > 2]
    # two pool processes take messages off the queue side by side, so neighbours may swap
    assert not displaced, displaced[:20]
    assert not WaitingMessage.objects.exists()


def test_an_enqueue_during_a_broker_outage_answers_at_once(
        start_worker: Worker, tmp_path: Path, private_redis: tuple[str, Callable[[], None], Callable[[], None]],
) -> None:
    url, stop_redis, start_redis = private_redis
    start_worker("b1", broker=url)
    server, base = start_uvicorn(tmp_path / "uvicorn.log", CELERY_BROKER_URL=url)
    try:
        assert httpx.post(f"{base}/fanout", json={"count": 1, "tag": "before"}, timeout=60).status_code == 202
        wait_until(lambda: len(state("fanout-fanout-a")) == 1, 30, what="delivery before the outage")
        stop_redis()
        elapsed = []
        for tag in ("first", "second"):
            started = time.perf_counter()
            response = httpx.post(f"{base}/fanout", json={"count": 10, "tag": tag}, timeout=60)
            elapsed.append(time.perf_counter() - started)
            assert response.status_code == 202
        print(f"enqueue of 10 messages during the outage: {elapsed[0] * 1000:.0f} ms, then {elapsed[1] * 1000:.0f} ms")
        # a publisher waiting for the transport to give up would take seconds per message
        assert max(elapsed) < 1.0, elapsed
        assert OutboxMessage.objects.count() == 40  # 20 messages, one copy for each of the two subscribers
        wait_until(lambda: OutboxMessage.objects.filter(send_attempts__gt=0).exists(), 10,
                   what="the relay to try the broker")
        start_redis()
        # fanout-b's condition lets only even messages through
        wait_until(lambda: len(state("fanout-fanout-a")) == 21 and len(state("fanout-fanout-b")) == 11, 60,
                   interval=0.5, what="delivery after the broker returned")
        wait_until(lambda: not OutboxMessage.objects.exists(), 10, what="an empty outbox")
    finally:
        server.stop()


def _strand(message_id: str) -> None:
    """Leave a message in the outbox, as a publisher that died after committing would."""
    OutboxMessage.objects.create(binding="late-commit#0:t.late-commit", queue="motia.t.late-commit", envelope={
        "id": message_id, "topic": "t.late-commit", "data": {"id": message_id}, "traceId": f"t-{message_id}",
        "depth": 0})


def _wait_for_a_relay() -> None:
    wait_until(lambda: Lease.objects.filter(name="relay").exclude(holder="").exists(), 10, what="a relay")


def test_one_relay_at_a_time_and_another_takes_over(start_worker: Worker) -> None:
    first = start_worker("r1")
    _wait_for_a_relay()
    holder = Lease.objects.get(name="relay").holder
    start_worker("r2")
    time.sleep(2)
    assert Lease.objects.get(name="relay").holder == holder, "the second worker took a lease that was held"
    first.stop()
    wait_until(lambda: Lease.objects.get(name="relay").holder not in ("", holder), 15, what="the second relay")
    # the relay still works: a message left in the outbox is sent
    _strand("stranded")
    wait_until(lambda: "stranded" in state("late-commit"), 15, what="the stranded message")


def test_the_relay_reconnects_after_the_database_drops_its_connections(start_worker: Worker) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("a server-side connection drop needs PostgreSQL (the PostgreSQL pass runs this)")
    start_worker("p1")
    _wait_for_a_relay()
    with database_outage() as end:
        end()  # every connection of the workers is gone; the database accepts new ones at once
    connection.close()
    _strand("after-restart")
    wait_until(lambda: "after-restart" in state("late-commit"), 15, what="the relay to send after the drop")


def test_an_async_handler_run_from_sync_code_reconnects_after_a_drop(transactional_db: None) -> None:
    """The helper thread that runs an async handler's ORM calls gets a fresh connection, as a request thread does."""
    if connection.vendor != "postgresql":
        pytest.skip("a server-side connection drop needs PostgreSQL (the PostgreSQL pass runs this)")

    def put(n: int) -> int:
        return int(Client().put("/state/reconnect/item", json.dumps({"n": n}), content_type="application/json")
                   .status_code)

    assert put(1) == 200
    with database_outage() as end:
        end()  # every other connection to the database is gone, the helper thread's too
    assert put(2) == 200
    assert state("reconnect") == {"item": {"n": 2}}


def test_a_blocked_relay_does_not_hold_up_consumption(start_worker: Worker) -> None:
    """The relay runs beside the consumer: while it waits on a locked table, messages keep flowing."""
    if connection.vendor != "postgresql":
        pytest.skip("locking one table needs PostgreSQL (the PostgreSQL pass runs this)")
    start_worker("q1")
    _wait_for_a_relay()
    import psycopg

    db = connection.settings_dict
    locker = psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                             dbname=db["NAME"])
    try:
        # the relay takes its lease every sweep; deliveries never touch this table
        locker.execute("LOCK TABLE motia_django_lease IN ACCESS EXCLUSIVE MODE")
        time.sleep(1.5)  # the relay is now blocked on the table
        for n in range(5):
            publish("t.late-commit", {"id": f"during-lock-{n}"}, "trace-lock", None, "test")
        wait_until(lambda: len([k for k in state("late-commit") if k.startswith("during-lock-")]) == 5, 10,
                   what="deliveries while the relay is blocked")
    finally:
        locker.rollback()
        locker.close()


def test_fifo_retries_resume_after_their_backoff_and_emptied_groups_are_forgotten(start_worker: Worker) -> None:
    start_worker("f1")
    for group in ("a", "b"):
        publish("t.fifo-backoff", {"id": group}, f"trace-{group}", group, "test")
    wait_until(lambda: all(state("fifo-backoff").get(g, {}).get("calls") == 2 for g in ("a", "b")), 30,
               what="the retries after the backoff")
    times = state("fifo-backoff-times")
    for group in ("a", "b"):
        waited = times[f"{group}-2"] - times[f"{group}-1"]
        assert 6 <= waited < 10, waited  # the backoff, then at most a few relay periods
    wait_until(lambda: not FifoGroup.objects.exists(), 10, what="the emptied groups' rows to go")
