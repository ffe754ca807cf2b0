"""Cross-process delivery through channels-redis on the real Redis.

Writes made by a Celery worker, by another server and by this process reach
sockets served by uvicorn.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.test import override_settings

from motia_django.models import StreamItem
from motia_django.streams import realtime
from motia_django.streams.stream import Stream

from .conftest import Process, clock_off, require_service, start_uvicorn
from .test_streams import Client, motia_item_view, write, ws_url

pytestmark = [pytest.mark.slow, pytest.mark.services]

Worker = Callable[..., Process]
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_layer(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Servers and workers started by the test use the channels-redis layer (a prefix of their own)."""
    require_service("Redis", "127.0.0.1", 6379)
    prefix = f"motia-test-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("CHANNEL_LAYER_URL", REDIS_URL)
    monkeypatch.setenv("CHANNEL_LAYER_PREFIX", prefix)
    return {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                        "CONFIG": {"hosts": [REDIS_URL], "prefix": prefix}}}


def enqueue(base: str, **job: Any) -> None:
    """A stream write made by a Celery worker: the HTTP step only enqueues it."""
    response = httpx.post(f"{base}/stream-jobs", json=job, timeout=30)
    assert response.status_code == 202, response.text


@pytest.fixture
def served(redis_layer: dict[str, Any], start_worker: Worker, tmp_path: Path) -> Iterator[str]:
    """A worker and a uvicorn server, both on the Redis layer; yields the server's base URL."""
    start_worker("w1")
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    yield base
    proc.stop()


def test_worker_writes_reach_sockets_on_the_server(served: str) -> None:
    with Client(ws_url(served)) as group, Client(ws_url(served)) as item:
        group.join("notes", "jobs")
        item.join("notes", "jobs", item="a")
        assert group.event() == {"type": "sync", "data": []}
        assert item.event() == {"type": "sync", "data": None}
        enqueue(served, op="set", stream="notes", group="jobs", id="a", data={"title": "from a worker"})
        created = {"type": "create", "data": {"title": "from a worker", "writer": "w1", "id": "a"}}
        assert group.event(timeout=20) == item.event() == created
        enqueue(served, op="update", stream="notes", group="jobs", id="a",
                ops=[{"type": "set", "path": "done", "value": True}])
        assert group.event(timeout=20)["data"]["done"] is True
        assert item.event()["type"] == "update"
        enqueue(served, op="event", stream="notes", group="jobs", id="a", type="ping", data={"n": 1})
        assert group.event(timeout=20) == item.event() == {"type": "event", "event": {"type": "ping", "data": {"n": 1}}}
        enqueue(served, op="delete", stream="notes", group="jobs", id="a")
        assert group.event(timeout=20)["type"] == item.event()["type"] == "delete"


def test_writes_of_a_worker_whose_clock_is_behind_are_not_dropped(redis_layer: dict[str, Any], start_worker: Worker,
                                                                     tmp_path: Path) -> None:
    """The server writes an item, then a worker whose wall clock is a minute behind updates it.

    Each frame must outrank the one before it for the Motia client to apply it, whichever
    process sent it.
    """
    start_worker("w1", **clock_off(-60))
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    try:
        with Client(ws_url(base)) as client:
            client.join("notes", "skew", item="a")
            frames = [client.recv()]
            write(base, op="set", stream="notes", group="skew", id="a", data={"title": "by the server"})
            frames.append(client.recv())
            enqueue(base, op="update", stream="notes", group="skew", id="a",
                    ops=[{"type": "set", "path": "title", "value": "by the worker"}])
            frames.append(client.recv(timeout=20))
        assert [frame["event"]["type"] for frame in frames] == ["sync", "create", "update"]
        assert motia_item_view(frames) == {"title": "by the worker", "id": "a"}
        assert frames[2]["timestamp"] > frames[1]["timestamp"] > frames[0]["timestamp"]
    finally:
        proc.stop()


def test_writes_on_one_server_reach_clients_of_another(redis_layer: dict[str, Any], transactional_db: None,
                                                        tmp_path: Path) -> None:
    first, first_base = start_uvicorn(tmp_path / "first.log")
    second, second_base = start_uvicorn(tmp_path / "second.log")
    try:
        with Client(ws_url(first_base)) as client:
            client.join("notes", "shared")
            assert client.event()["type"] == "sync"
            write(second_base, op="set", stream="notes", group="shared", id="x", data={"title": "via B"})
            assert client.event() == {"type": "create", "data": {"title": "via B", "id": "x"}}
    finally:
        first.stop()
        second.stop()


def test_writes_from_a_script_reach_sockets(redis_layer: dict[str, Any], transactional_db: None,
                                            tmp_path: Path) -> None:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    try:
        with Client(ws_url(base)) as client, override_settings(CHANNEL_LAYERS=redis_layer):
            client.join("notes", "script")
            assert client.event()["type"] == "sync"
            for n in range(20):
                Stream("notes").set("script", f"n{n:02d}", {"title": f"note {n}"})
            assert realtime.flush(10)
            ids = [client.event()["data"]["id"] for _ in range(20)]
            assert ids == [f"n{n:02d}" for n in range(20)]  # in commit order
    finally:
        proc.stop()


def test_a_late_frame_does_not_undo_a_newer_change(redis_layer: dict[str, Any], transactional_db: None,
                                                   tmp_path: Path) -> None:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    try:
        with Client(ws_url(base)) as client, override_settings(CHANNEL_LAYERS=redis_layer):
            client.join("notes", "late")
            assert client.event()["type"] == "sync"
            write(base, op="set", stream="notes", group="late", id="a", data={"title": "current"})
            created = client.recv()
            version = StreamItem.objects.get(stream="notes", group="late", key="a").version
            assert created["version"] == version
            # frames of the same item from a slower process, arriving after the newer change
            for old in (version - 1, version):
                realtime.publish(realtime.change_frame("notes", "late", "a", {"type": "update", "data": {}}, old))
            Stream("notes").send({"groupId": "late"}, {"type": "marker"})
            assert realtime.flush(10)
            assert client.event() == {"type": "event", "event": {"type": "marker", "data": None}}
            client.quiet()
    finally:
        proc.stop()
