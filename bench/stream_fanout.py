"""Stream fan-out: one ``Stream.set`` reaching 100 and 1,000 subscribed WebSocket clients.

Starts a real uvicorn server (``project.asgi``, 1 process) on the channels-redis
layer and N ``websockets`` clients, spread over a few client processes, all
joined to one group of one stream.  This process is the writer, as a script or
a Celery worker would be: it calls ``Stream("bench").set(...)`` (a database
write whose committed change goes out through ``stream_changed`` and the
publisher) and, as the baseline, sends a frame of the same shape straight to the
group's channel group with the raw ``channel_layer.group_send``.  Every item
carries the wall-clock time of its write; clients subtract it from the time they
receive the frame.

* latency: closed loop, one write at a time, the next once every client got it;
  store writes and baseline sends alternate.  p50/p99 over every delivery, and of
  the time until the last client of a write got it.
* throughput: a burst of writes as fast as one writer goes, timed until the last
  client got the last one; bursts alternate store/baseline.  Also the store
  writes/s to a group nobody watches (the writer's own ceiling).

Needs Redis on 127.0.0.1:6379 (or ``--redis``).  Usage::

    python bench/stream_fanout.py [--clients 100 1000] [--writes 100] [--burst 200] [--rounds 2]
                                  [--client-procs 4] [--layer pubsub|core] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from motia_django.testing.processes import ChildProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
STREAM, GROUP, IDLE_GROUP = "bench", "fanout", "nobody-watches"
LAYERS = {"pubsub": "channels_redis.pubsub.RedisPubSubChannelLayer", "core": "channels_redis.core.RedisChannelLayer"}

STREAM_FILE = '''\
from motia import StreamConfig

config = StreamConfig(name="bench", can_access=lambda subscription, auth_context: True)
'''

SETTINGS_FILE = '''\
"""The example project's settings on the chosen channel layer, quiet."""

import os

os.environ.setdefault("DJANGO_DEBUG", "1")  # the example project's development defaults (hosts, no HTTPS)

from project.settings import *  # noqa: E402,F403

DEBUG = False
CHANNEL_LAYERS = {{"default": {{"BACKEND": {backend!r}, "CONFIG": {{"hosts": [{redis!r}], "prefix": {prefix!r}}}}}}}
LOGGING = {{
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {{"console": {{"class": "logging.StreamHandler"}}}},
    "loggers": {{"motia": {{"handlers": ["console"], "level": "WARNING", "propagate": False}}}},
}}
'''


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: list[int], pct: float) -> int:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


# -- client processes -------------------------------------------------------------------------


async def client_main(url: str, count: int) -> None:
    """``count`` sockets joined to the group; one JSON line per write once all of them got it."""
    from websockets.asyncio.client import connect

    sockets = [await connect(url, proxy=None, max_size=None, open_timeout=60) for _ in range(count)]
    for n, ws in enumerate(sockets):
        await ws.send(json.dumps({"type": "join", "data": {"streamName": STREAM, "groupId": GROUP,
                                                            "subscriptionId": f"s{n}"}}))
    for ws in sockets:
        assert json.loads(await ws.recv())["event"]["type"] == "sync"
    print(json.dumps({"ready": count}), flush=True)
    latencies: dict[int, list[int]] = defaultdict(list)

    async def follow(ws: Any) -> None:
        async for text in ws:
            received = time.time_ns()
            data = json.loads(text)["event"]["data"]
            seq = data["seq"]
            got = latencies[seq]
            got.append((received - data["t"]) // 1000)
            if len(got) == count:
                print(json.dumps({"seq": seq, "us": got}), flush=True)
                del latencies[seq]

    tasks = [asyncio.create_task(follow(ws)) for ws in sockets]
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the driver closes stdin
    for task in tasks:
        task.cancel()


# -- the driver -------------------------------------------------------------------------------


class Clients:
    """The client processes, and the latencies (µs, one per client) of the writes they completed."""

    def __init__(self, url: str, count: int, procs: int, env: dict[str, str]) -> None:
        self.count = count
        sizes = [count // procs + (1 if n < count % procs else 0) for n in range(procs)]
        self.procs = [
            subprocess.Popen([sys.executable, __file__, "--client", url, "--count", str(size)], env=env,
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            for size in sizes if size
        ]
        self.reports: queue.Queue[dict[str, Any]] = queue.Queue()
        self.latencies: dict[int, list[int]] = defaultdict(list)
        self.parts: dict[int, int] = defaultdict(int)
        for proc in self.procs:
            threading.Thread(target=self._read, args=(proc,), daemon=True).start()
        ready, deadline = 0, time.monotonic() + 300
        while ready < count:
            ready += self._next(deadline)["ready"]

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            self.reports.put(json.loads(line))

    def _next(self, deadline: float) -> dict[str, Any]:
        try:
            return self.reports.get(timeout=max(0.1, deadline - time.monotonic()))
        except queue.Empty:
            raise RuntimeError("clients did not report in time") from None

    def wait_for(self, seqs: list[int], timeout: float = 300) -> None:
        """Until every client got every write in ``seqs``."""
        deadline = time.monotonic() + timeout
        while any(self.parts[seq] < len(self.procs) for seq in seqs):
            report = self._next(deadline)
            self.latencies[report["seq"]].extend(report["us"])
            self.parts[report["seq"]] += 1

    def stop(self) -> None:
        for proc in self.procs:
            assert proc.stdin is not None
            proc.stdin.close()
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


class Writer:
    """Writes through the store (``Stream.set``) or sends raw frames (``group_send``), numbered."""

    def __init__(self) -> None:
        from channels.layers import get_channel_layer

        from motia_django.streams import realtime
        from motia_django.streams.stream import Stream

        self.realtime = realtime
        self.stream: Stream[Any] = Stream(STREAM)
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()  # one loop, so the baseline keeps its Redis connection
        self.room = realtime.room(STREAM, GROUP)
        self.seq = 0
        self.sent_at: dict[int, int] = {}

    def _next(self) -> tuple[int, str, dict[str, Any]]:
        self.seq += 1
        now = time.time_ns()
        self.sent_at[self.seq] = now
        return self.seq, f"item-{self.seq % 100}", {"seq": self.seq, "t": now}

    def store(self, group: str = GROUP) -> int:
        seq, item, data = self._next()
        self.stream.set(group, item, data)
        return seq

    def baseline(self) -> int:
        seq, item, data = self._next()
        body = {"streamName": STREAM, "groupId": GROUP, "id": item, "event": {"type": "update", "data": data}}
        message = {**self.realtime.layer_message(self.realtime.Frame((self.room,), body)), "room": self.room}
        self.loop.run_until_complete(self.layer.group_send(self.room, message))
        return seq


@dataclass
class Result:
    deliveries: list[int] = field(default_factory=list)  # µs, every client of every write
    last_client: list[int] = field(default_factory=list)  # µs, per write
    bursts: list[float] = field(default_factory=list)  # writes/s until the last delivery


def latency_round(writer: Writer, clients: Clients, writes: int, results: dict[str, Result]) -> None:
    paths: dict[str, Callable[[], int]] = {"store": writer.store, "baseline": writer.baseline}
    for n in range(writes):
        for name in (("store", "baseline") if n % 2 == 0 else ("baseline", "store")):
            seq = paths[name]()
            clients.wait_for([seq], 60)
            results[name].deliveries.extend(clients.latencies[seq])
            results[name].last_client.append(max(clients.latencies[seq]))


def burst(send: Callable[[], int], writer: Writer, clients: Clients, count: int) -> float:
    started = time.time_ns()
    seqs = [send() for _ in range(count)]
    clients.wait_for(seqs)
    finished = max(writer.sent_at[seq] + 1000 * max(clients.latencies[seq]) for seq in seqs)
    return count / ((finished - started) / 1e9)


def idle_writes(writer: Writer, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        writer.store(IDLE_GROUP)
    elapsed = time.perf_counter() - started
    writer.realtime.flush(30)
    return count / elapsed


def ms(values: list[int], pct: float) -> str:
    return f"{percentile(values, pct) / 1000:.1f} ms"


def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="stream-bench-"))
    (workdir / "steps").mkdir()
    (workdir / "steps" / "bench_stream.py").write_text(STREAM_FILE)
    site = workdir / "site" / "stream_bench_site"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    (site / "settings.py").write_text(SETTINGS_FILE.format(backend=LAYERS[args.layer], redis=args.redis,
                                                           prefix=prefix))
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="stream_bench_site.settings", MOTIA_VAR_DIR=str(workdir / "var"),
               MOTIA_STEPS_DIR=str(workdir / "steps"), PYTHONUNBUFFERED="1",
               PYTHONPATH=os.pathsep.join(p for p in (str(site.parent), str(REPO_ROOT), os.environ.get("PYTHONPATH"))
                                          if p))
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=REPO_ROOT, env=env,
                   check=True)
    os.environ.update(env)
    sys.path[:0] = [str(site.parent), str(REPO_ROOT)]
    import django

    django.setup()
    from motia_django.registry import get_registry

    assert not get_registry().errors, get_registry().errors

    port = free_port()
    server = ChildProcess(
        [sys.executable, "-m", "uvicorn", "project.asgi:application", "--host", "127.0.0.1", "--port", str(port),
         "--no-access-log", "--log-level", "warning", "--backlog", "4096"],
        log=workdir / "server.log", cwd=REPO_ROOT, env=env, name="uvicorn")
    server.wait_until_ready(server_answers(port), interval=0.2)
    try:
        writer = Writer()
        print(f"layer {LAYERS[args.layer]}, database {env.get('DATABASE_URL', 'SQLite')}, "
              f"{os.cpu_count()} CPUs, server pid {server.pid}", flush=True)
        print(f"writer alone (no subscribers): {idle_writes(writer, args.burst):.0f} store writes/s", flush=True)
        rows = []
        for count in args.clients:
            clients = Clients(f"ws://127.0.0.1:{port}/", count, args.client_procs, env)
            try:
                results = {"store": Result(), "baseline": Result()}
                latency_round(writer, clients, 10, {"store": Result(), "baseline": Result()})  # warm-up
                for round_no in range(args.rounds):
                    latency_round(writer, clients, args.writes // args.rounds, results)
                    for name in (("store", "baseline") if round_no % 2 == 0 else ("baseline", "store")):
                        send = writer.store if name == "store" else writer.baseline
                        results[name].bursts.append(burst(send, writer, clients, args.burst))
            finally:
                clients.stop()
            for name, result in results.items():
                rate = statistics.median(result.bursts)
                rows.append(f"| {count} | {name} | {ms(result.deliveries, 50)} | {ms(result.deliveries, 99)} | "
                            f"{ms(result.last_client, 50)} | {ms(result.last_client, 99)} | {rate:.0f} | "
                            f"{rate * count:,.0f} |")
            print(f"{count} clients done", flush=True)
        print("\n| clients | path | p50 delivery | p99 delivery | p50 last client | p99 last client "
              "| writes/s (burst) | deliveries/s |")
        print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        print("\n".join(rows))
    finally:
        server.stop()


def server_answers(port: int) -> Callable[[ChildProcess], bool]:
    """A readiness test: the server answers HTTP on ``port`` at all."""
    import urllib.error
    import urllib.request

    def ready(child: ChildProcess) -> bool:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
        except urllib.error.HTTPError:
            return True  # the JSON 404 of an unknown path: the server is up
        except OSError:
            return False
        return True

    return ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--writes", type=int, default=100, help="closed-loop writes per path (latency)")
    parser.add_argument("--burst", type=int, default=200, help="writes per throughput burst")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--client-procs", type=int, default=4)
    parser.add_argument("--layer", choices=sorted(LAYERS), default="pubsub")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--database-url", default=None, help="default: SQLite in a temporary folder")
    parser.add_argument("--client", help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        asyncio.run(client_main(args.client, args.count))
    else:
        run(args)


if __name__ == "__main__":
    main()
