"""Queue triggers through real Celery workers on a real broker (Redis; RabbitMQ in its own class)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import Client

from motia_django.models import DeadLetter, Execution, OutboxMessage, StateEntry

from .conftest import Process, assert_fifo_order, free_port, require_service, start_uvicorn, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.services]

Worker = Callable[..., Process]


def post(path: str, body: dict[str, Any]) -> Any:
    return Client().post(path, json.dumps(body), content_type="application/json")


def state(scope: str) -> dict[str, Any]:
    return dict(StateEntry.objects.filter(group=scope).values_list("key", "value"))


def executions(step: str, **filters: Any) -> list[Execution]:
    return list(Execution.objects.filter(step=step, **filters).order_by("started_at"))


def gaps(rows: list[Execution]) -> list[float]:
    return [(b.started_at - a.started_at).total_seconds() for a, b in zip(rows, rows[1:], strict=False)]


def test_fan_out_gives_every_subscriber_its_copy(start_worker: Worker) -> None:
    start_worker()
    response = post("/fanout", {"count": 4, "tag": "x"})
    assert response.status_code == 202
    wait_until(lambda: len(state("fanout-fanout-a")) == 4 and len(state("fanout-fanout-b")) == 2, 30,
               what="both subscribers")
    assert {v["trace"] for v in state("fanout-fanout-a").values()} == {response["X-Trace-Id"]}
    assert {v["topic"] for v in state("fanout-fanout-a").values()} == {"t.fanout"}
    wait_until(lambda: len(executions("fanout-b", status="skipped")) == 2, 10, what="skipped executions")
    assert not OutboxMessage.objects.exists()


def test_competing_consumers_share_the_work_once(start_worker: Worker) -> None:
    start_worker("w1", concurrency=1)
    start_worker("w2", concurrency=1)
    post("/fanout", {"count": 40, "tag": "c"})
    wait_until(lambda: len(state("fanout-fanout-a")) == 40, 60, what="40 deliveries")
    assert {v["worker"] for v in state("fanout-fanout-a").values()} == {"w1", "w2"}
    wait_until(lambda: len(executions("fanout-a")) == 40, 10, what="40 execution records")
    per_message: dict[str, int] = defaultdict(int)
    for row in executions("fanout-a"):
        per_message[row.message_id] += 1
    assert len(per_message) == 40 and set(per_message.values()) == {1}


def test_dedicated_workers_consume_only_their_topics(start_worker: Worker) -> None:
    start_worker("only-fixed", queues="motia.t.fixed")
    post("/fanout", {"count": 1, "tag": "q"})
    post("/retry", {"topic": "t.fixed", "data": {"id": "q1"}})
    wait_until(lambda: len(executions("retry-fixed", status="succeeded")) == 1, 30, what="the dedicated topic")
    assert state("fanout-fanout-a") == {}
    start_worker("everything")
    wait_until(lambda: "q-0" in state("fanout-fanout-a"), 30, what="the other topic, once a worker takes it")


def test_delay_seconds_holds_the_first_attempt(start_worker: Worker) -> None:
    from motia_django.tracing.recorder import flush

    start_worker()
    response = post("/retry", {"topic": "t.delayed", "data": {"id": "late"}})
    flush()
    wait_until(lambda: len(executions("retry-delayed")) == 1, 30, what="the delayed attempt")
    [row] = executions("retry-delayed")
    published = Execution.objects.get(trace_id=response["X-Trace-Id"], trigger_type="http")
    # the lower bound is the delay; the upper one only allows for a loaded machine
    assert 1.4 <= (row.started_at - published.started_at).total_seconds() <= 6.5


def test_retries_with_fixed_backoff(start_worker: Worker) -> None:
    start_worker()
    post("/retry", {"topic": "t.fixed", "data": {"id": "f1", "fail_times": 2}})
    wait_until(lambda: len(executions("retry-fixed")) == 3, 30, what="three attempts")
    rows = executions("retry-fixed")
    assert [r.status for r in rows] == ["failed", "failed", "succeeded"]
    assert [r.attempt for r in rows] == [1, 2, 3]
    assert "planned failure 1" in rows[0].error
    for gap in gaps(rows):  # at least the 0.4 s backoff; the upper bound only allows for a loaded machine
        assert 0.35 <= gap <= 4.2, gaps(rows)


def test_retries_with_exponential_backoff(start_worker: Worker) -> None:
    start_worker()
    post("/retry", {"topic": "t.exponential", "data": {"id": "e1", "fail_times": 3}})
    wait_until(lambda: len(executions("retry-exponential")) == 4, 30, what="four attempts")
    measured = gaps(executions("retry-exponential"))
    # the lower bounds prove the growing backoff; the upper ones only allow for a loaded machine
    for gap, expected in zip(measured, [0.2, 0.4, 0.8], strict=True):
        assert expected - 0.05 <= gap <= expected + 3.0, measured


def test_handler_timeout_counts_as_failure_then_dead_letter(start_worker: Worker) -> None:
    start_worker()
    post("/retry", {"topic": "t.slow", "data": {"id": "s1", "sleep": 5}})
    wait_until(lambda: DeadLetter.objects.filter(step="retry-slow").exists(), 40, what="dead letter")
    letter = DeadLetter.objects.get(step="retry-slow")
    assert letter.error_type == "HandlerTimeout" and letter.attempts == 2
    wait_until(lambda: len(executions("retry-slow")) == 2, 10, what="two attempts")
    assert all(r.duration_ms is not None and r.duration_ms < 4500 for r in executions("retry-slow"))


def test_dead_letter_after_exhaustion_then_replay_from_admin(start_worker: Worker, admin_client: Client) -> None:
    start_worker()
    post("/retry", {"topic": "t.fixed", "data": {"id": "d1", "fail_times": 99}})
    wait_until(lambda: DeadLetter.objects.filter(step="retry-fixed").exists(), 30, what="dead letter")
    letter = DeadLetter.objects.get(step="retry-fixed")
    assert letter.attempts == 3 and letter.topic == "t.fixed" and letter.payload == {"id": "d1", "fail_times": 99}
    assert "planned failure 3" in letter.error and "Traceback" in letter.traceback, [
        (r.attempt, r.status, r.error) for r in executions("retry-fixed")]
    assert letter.trace_id and letter.first_attempt_at is not None

    StateEntry.objects.filter(group="flaky", key="d1").update(value={"calls": -5})
    page = admin_client.get("/admin/motia_django/deadletter/")
    assert page.status_code == 200 and b"retry-fixed" in page.content
    response = admin_client.post("/admin/motia_django/deadletter/",
                                 {"action": "replay", "_selected_action": [letter.pk]}, follow=True)
    assert response.status_code == 200
    assert b"Replayed 1 message" in response.content, response.content.decode()[-3000:]
    wait_until(lambda: len(executions("retry-fixed", status="succeeded")) == 1, 30, what="replayed success")
    assert not DeadLetter.objects.exists()


def test_invalid_input_goes_straight_to_dead_letters(start_worker: Worker) -> None:
    start_worker()
    post("/retry", {"topic": "t.validated", "data": {"id": "v1"}})
    wait_until(lambda: DeadLetter.objects.filter(step="retry-validated").exists(), 30, what="dead letter")
    letter = DeadLetter.objects.get(step="retry-validated")
    assert letter.attempts == 1 and letter.error_type == "InvalidInput" and "amount" in letter.error
    assert "v1" not in state("flaky")


def test_fifo_groups_run_in_order_one_at_a_time(start_worker: Worker) -> None:
    start_worker("f1", concurrency=4)
    start_worker("f2", concurrency=4)
    assert post("/fifo", {"groups": 5, "per_group": 100}).status_code == 202
    wait_until(lambda: StateEntry.objects.filter(group="fifo-log").count() == 500, 180, interval=1,
               what="500 FIFO messages")
    log = list(state("fifo-log").values())
    assert_fifo_order(log, 100)
    overlapping = any(
        a["start"] < b["end"] and b["start"] < a["end"] for a in log for b in log[:200] if a["group"] != b["group"]
    )
    assert overlapping, "different groups never ran in parallel"
    assert len({e["pid"] for e in log}) > 1



def test_transactional_enqueue_commit_and_rollback(start_worker: Worker) -> None:
    start_worker()
    assert post("/txn/users", {"username": "ann"}).status_code == 201
    assert post("/txn/users", {"username": "bob", "fail": True}).status_code == 409
    wait_until(lambda: "ann" in state("welcomed"), 30, what="welcome for ann")
    assert state("welcomed")["ann"] == {"exists": True}
    wait_until(lambda: not OutboxMessage.objects.exists(), 10, what="empty outbox")
    assert "bob" not in state("welcomed")
    wait_until(lambda: Execution.objects.filter(step="txn-welcomer").exists(), 10, what="the execution record")
    assert list(Execution.objects.filter(step="txn-welcomer").values_list("status", flat=True)) == ["succeeded"]


def test_concurrency_limit_holds_across_workers(start_worker: Worker) -> None:
    start_worker("c1", concurrency=4)
    start_worker("c2", concurrency=4)
    post("/limited", {"count": 12})
    wait_until(lambda: len(state("limited")) == 12, 60, what="12 limited executions")
    spans = list(state("limited").values())
    events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass  # a pool process that was already being replaced


#: Whole-worker kills, repeated: a short visibility timeout (an operator's choice, shorter than the
#: steps need, which the checks warn about: the killed worker's messages come back after 5 s, and
#: these handlers take 0.2 s) a few times, and the one derived from the steps (about 75 s) once.
#: ``MOTIA_TEST_SIGKILL_RUNS`` repeats the short case more often.
SIGKILL_CASES = [("5", run) for run in range(int(os.environ.get("MOTIA_TEST_SIGKILL_RUNS", "3")))] + [("", 0)]


@pytest.mark.parametrize(("visibility", "run"), SIGKILL_CASES,
                         ids=[f"{'short' if v else 'derived'}-{run}" for v, run in SIGKILL_CASES])
def test_sigkill_mid_handler_loses_nothing(start_worker: Worker, visibility: str, run: int) -> None:
    env = {"MOTIA_TEST_REDIS_VISIBILITY": visibility} if visibility else {}
    victim = start_worker("k1", concurrency=4, **env)
    start_worker("k2", concurrency=4, **env)

    def done() -> int:
        return StateEntry.objects.filter(group="crash-done").count()

    # 0.2 s a message on 8 slots: at least 12 s of work, so the kills land while handlers run
    post("/crash", {"count": 500, "pause": 0.2})
    wait_until(lambda: done() >= 60, 60, what="work under way")
    _kill(_children(victim.pid)[0])
    assert done() < 500, "the first kill came too late: all 500 messages were already done"
    wait_until(lambda: done() >= 200, 90, what="more work")
    for child in _children(victim.pid):
        _kill(child)
    _kill(victim.pid)
    assert done() < 500, "the second kill came too late: all 500 messages were already done"
    wait_until(lambda: done() == 500, 240, interval=0.5, what=lambda: f"all 500 messages ({done()} done)")
    runs = {int(k): v["runs"] for k, v in state("crash-done").items()}
    assert sorted(runs) == list(range(500))

    def unfinished() -> int:
        finished = set(Execution.objects.filter(step="crash-worker", status="succeeded").values_list("message_id"))
        started = set(Execution.objects.filter(step="crash-worker").values_list("message_id"))
        return len(started - finished)

    # a handler that finished just before its worker died is redelivered after the visibility timeout
    wait_until(lambda: unfinished() == 0, 120, interval=0.5, what="every message to finish once")
    runs = {int(k): v["runs"] for k, v in state("crash-done").items()}
    attempts: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for message_id, number, status in Execution.objects.filter(step="crash-worker").values_list(
            "message_id", "attempt", "status"):
        attempts[message_id].append((number, status))
    # (the killed worker's last half second of records of first attempts died with it)
    for rows in attempts.values():
        assert "succeeded" in [status for _, status in rows]
    # every run beyond a message's first was a redelivery, recorded before it ran as a higher attempt number
    repeats = sum(max(number for number, _ in rows) - 1 for rows in attempts.values())
    assert repeats > 0, "the kills interrupted nothing"
    assert sum(runs.values()) - 500 <= repeats
    assert not DeadLetter.objects.exists()


def test_pool_processes_forked_while_the_relay_sweeps_all_work(start_worker: Worker) -> None:
    # a process per message: each fork may land while the relay thread is inside the database library
    start_worker("r1", concurrency=2, options=["--max-tasks-per-child", "1"])
    post("/crash", {"count": 150, "pause": 0})

    def done() -> int:
        return StateEntry.objects.filter(group="crash-done").count()

    wait_until(lambda: done() == 150, 180, interval=0.5,
               what=lambda: f"150 messages, one pool process each ({done()} done)")


@pytest.mark.parametrize("tracing", ["on", "off"])
def test_a_message_that_kills_its_worker_ends_in_dead_letters(start_worker: Worker, tracing: str) -> None:
    start_worker("p1", concurrency=2, MOTIA_TRACING=tracing)
    post("/crash", {"count": 3, "poison": 1})
    wait_until(lambda: DeadLetter.objects.filter(step="crash-worker").exists(), 90, interval=0.5,
               what="poison message in dead letters")
    letter = DeadLetter.objects.get(step="crash-worker")
    assert letter.error_type == "TooManyAttempts" and letter.payload == {"n": 1, "poison": True, "pause": 0.02}
    # max_retries 2: it ran (and killed its worker) three times, counted whether or not runs are traced
    assert state("crash-poison") == {"1": {"runs": 3}}
    wait_until(lambda: set(state("crash-done")) == {"0", "2"}, 30, what="the healthy messages")


def test_broker_outage_keeps_messages_until_it_returns(start_worker: Worker, tmp_path: Path) -> None:
    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    redis_args = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    redis = Process(redis_args, dict(os.environ), tmp_path / "redis.log")
    try:
        wait_until(lambda: _port_open(port), 10, what="private redis")
        start_worker("o1", broker=url)
        server, base = start_uvicorn(tmp_path / "uvicorn.log", CELERY_BROKER_URL=url)
        try:
            redis.stop()
            response = httpx.post(f"{base}/fanout", json={"count": 1, "tag": "outage"}, timeout=30)
            assert response.status_code == 202
            assert OutboxMessage.objects.count() == 2
            redis = Process(redis_args, dict(os.environ), tmp_path / "redis2.log")
            wait_until(lambda: "outage-0" in state("fanout-fanout-a"), 90, interval=0.5,
                       what="delivery after the broker returned")
            wait_until(lambda: not OutboxMessage.objects.exists(), 10, what="empty outbox")
        finally:
            server.stop()
    finally:
        redis.stop()


def _port_open(port: int) -> bool:
    from .conftest import service_up

    return service_up("127.0.0.1", port)


class TestRabbitMQ:
    URL = "amqp://guest:guest@127.0.0.1:5672//"

    def test_fan_out_and_retry_over_rabbitmq(self, start_worker: Worker, tmp_path: Path) -> None:
        require_service("RabbitMQ", "127.0.0.1", 5672)
        start_worker("r1", broker=self.URL)
        server, base = start_uvicorn(tmp_path / "uvicorn.log", CELERY_BROKER_URL=self.URL)
        try:
            assert httpx.post(f"{base}/fanout", json={"count": 2, "tag": "amqp"}).status_code == 202
            assert httpx.post(f"{base}/retry", json={"topic": "t.fixed", "data": {"id": "r1", "fail_times": 1}}
                              ).status_code == 202
            wait_until(lambda: len(state("fanout-fanout-a")) == 2 and len(state("fanout-fanout-b")) == 1, 30,
                       what="fan-out over RabbitMQ")
            wait_until(lambda: len(executions("retry-fixed", status="succeeded")) == 1, 30, what="retry")
        finally:
            server.stop()


def _stall_fifo_groups(big: int, small_groups: int) -> list[str]:
    """FIFO rows whose drains died: ``big`` due messages in one group, then one in each of the small groups."""
    from motia_django.models import FifoMessage

    binding = "fifo-consumer#0:t.fifo"
    rows = [FifoMessage(binding=binding, group_id="big", envelope={
        "id": f"big-{n}", "topic": "t.fifo", "data": {"group": "big", "seq": n}, "traceId": "t-big",
        "messageGroupId": "big", "depth": 0}) for n in range(big)]
    small = [f"small-{n}" for n in range(small_groups)]
    rows += [FifoMessage(binding=binding, group_id=name, envelope={
        "id": f"{name}-0", "topic": "t.fifo", "data": {"group": name, "seq": 0}, "traceId": f"t-{name}",
        "messageGroupId": name, "depth": 0}) for name in small]
    FifoMessage.objects.bulk_create(rows)
    return small


def test_every_stalled_fifo_group_is_found_behind_a_long_one(transactional_db: None) -> None:
    from motia_django.queues.outbox import stalled_groups

    small = _stall_fifo_groups(300, 5)
    found = {group for _, group in stalled_groups()}
    assert found == {"big", *small}, found


def test_stalled_fifo_groups_resume_within_one_relay_period(start_worker: Worker) -> None:
    small = _stall_fifo_groups(300, 5)
    worker = start_worker()
    ready = time.monotonic()
    wait_until(lambda: all(f"{name}-0000" in state("fifo-log") for name in small), 30,
               what="the five stalled groups")
    # the relay sweeps every 0.5 s here; a group found by the first sweep runs its one message at once
    assert time.monotonic() - ready < 3.0, worker.output()[-2000:]
