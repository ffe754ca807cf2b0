"""Stream declarations, and the stream WebSocket served by a real uvicorn to real ``websockets`` clients.

The servers here use the in-memory channel layer, so the writes that reach
sockets are made by the server itself (HTTP steps); ``test_streams_redis.py``
covers writes from other processes.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from channels.layers import InMemoryChannelLayer
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from motia_django.models import StreamItem
from motia_django.registry import Registry, reload_registry
from motia_django.schemas import SchemaViolation
from motia_django.signals import stream_changed
from motia_django.store import database_clock
from motia_django.streams.auth import StreamAuthRequest
from motia_django.streams.realtime import room
from motia_django.streams.stream import Stream, Streams, UnknownStream, declared_streams

from .conftest import ROOT, child_env, start_uvicorn

# -- a protocol client ---------------------------------------------------------------------------


class Client:
    """A ``websockets`` client speaking Motia's stream protocol, with bounded waits."""

    def __init__(self, ws_url: str, token: str | None = None, header: str | None = None, **options: Any) -> None:
        protocols = [Subprotocol("Authorization"), Subprotocol(token)] if token else None
        headers = {"Authorization": header} if header else None
        self.ws: ClientConnection = connect(ws_url, subprotocols=protocols, additional_headers=headers, proxy=None,
                                            open_timeout=10, **options)

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.ws.close()

    def send(self, frame: Any) -> None:
        self.ws.send(frame if isinstance(frame, str | bytes) else json.dumps(frame))

    def join(self, stream: str, group: str, item: str | None = None, subscription: str | None = None) -> str:
        subscription = subscription or uuid.uuid4().hex
        data = {"streamName": stream, "groupId": group, "subscriptionId": subscription}
        self.send({"type": "join", "data": {**data, **({"id": item} if item else {})}})
        return subscription

    def leave(self, stream: str, group: str, subscription: str, item: str | None = None) -> None:
        data = {"streamName": stream, "groupId": group, "subscriptionId": subscription}
        self.send({"type": "leave", "data": {**data, **({"id": item} if item else {})}})

    def recv(self, timeout: float = 10) -> dict[str, Any]:
        return dict(json.loads(self.ws.recv(timeout=timeout)))

    def event(self, timeout: float = 10) -> dict[str, Any]:
        """The next stream frame's event, checked to be a well-formed stream frame."""
        frame = self.recv(timeout)
        assert frame["type"] == "stream" and isinstance(frame["timestamp"], int), frame
        return dict(frame["event"])

    def quiet(self, seconds: float = 0.7) -> None:
        """Nothing arrives for a while."""
        with pytest.raises(TimeoutError):
            frame = self.ws.recv(timeout=seconds)
            pytest.fail(f"unexpected frame {frame}")


def motia_item_view(frames: list[dict[str, Any]]) -> Any:
    """The item an item subscription of the Motia client shows after ``frames``.

    Like the client, it skips a frame whose ``timestamp`` is not above that of the last
    frame it applied.
    """
    value, last = None, 0
    for frame in frames:
        if frame["timestamp"] <= last:
            continue
        last = frame["timestamp"]
        event = frame["event"]
        if event["type"] in ("sync", "create", "update"):
            value = event["data"]
        elif event["type"] == "delete":
            value = None
    return value


def write(base: str, **job: Any) -> dict[str, Any]:
    """A stream write (or send) made by the server, through the ``stream-write-now`` HTTP step."""
    response = httpx.post(f"{base}/stream-writes", json=job, timeout=60)
    assert response.status_code == 200, response.text
    return dict(response.json())


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/"


@pytest.fixture
def server(transactional_db: None, tmp_path: Path) -> Iterator[str]:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    yield base
    proc.stop()


# -- declarations --------------------------------------------------------------------------------


def test_stream_files_and_settings_declare_streams(db: None) -> None:
    streams = declared_streams()
    assert streams["notes"].schema.__name__ == "Note"  # *_stream.py with StreamConfig and a pydantic model
    assert streams["inbox"].schema["required"] == ["text"]  # *_stream.py with a Motia-style dict
    assert streams["inbox"].base_config == {"storageType": "default"}
    assert streams["announcements"].can_access.__name__ == "signed_in"  # MOTIA["STREAMS"], dotted path
    assert streams["todos"].can_access is None  # Stream("todos") in step files
    with pytest.raises(SchemaViolation):
        Stream("notes").set("g", "n1", {"done": "not a note"})
    with pytest.raises(SchemaViolation):
        Streams()["inbox"].set("alice", "m1", {"body": "no text"})
    with pytest.raises(UnknownStream, match="stream 'nope' is not declared"):
        Streams()["nope"]


def test_broken_stream_files_are_discovery_errors(tmp_path: Path) -> None:
    (tmp_path / "typo_stream.py").write_text('config = {"name": "typo", "can_acess": None}\n')
    (tmp_path / "empty_stream.py").write_text("NAME = 'nothing here'\n")
    (tmp_path / "crash.stream.py").write_text("x = 1\nraise RuntimeError('boom')\n")
    (tmp_path / "fine_stream.py").write_text("from motia import StreamConfig\nconfig = StreamConfig(name='fine')\n")
    errors = {Path(e.file).name: e for e in Registry.discover([tmp_path]).errors}
    assert "unknown stream config key(s): can_acess" in errors["typo_stream.py"].message
    assert errors["typo_stream.py"].line == 1
    assert "defines no stream" in errors["empty_stream.py"].message
    assert errors["crash.stream.py"].line == 2 and "boom" in errors["crash.stream.py"].message
    assert "fine_stream.py" not in errors and "fine" in declared_streams()


def test_bad_settings_streams_are_discovery_errors(settings: Any) -> None:
    settings.MOTIA = {**settings.MOTIA, "STREAMS": [{"name": "x", "can_access": "tests.no_such_module.check"}]}
    try:
        errors = reload_registry().errors
        assert errors[0].file == "settings.MOTIA['STREAMS']" and "no_such_module" in errors[0].message
    finally:
        del settings.MOTIA
        reload_registry()


def test_channel_group_names_are_valid_for_any_names() -> None:
    layer = InMemoryChannelLayer()
    names = [room("notes", "g"), room("ünïcode stream", "a group/with:odd*chars", "x" * 255),
             room("s" * 255, "g" * 255)]
    for name in names:
        assert layer.require_valid_group_name(name) and len(name) < 100
    assert room("a.b", "c") != room("a", "b.c")
    assert room("s", "g") != room("s", "g", "i")


def test_send_checks_its_target_and_event(db: None) -> None:
    notes = Stream("notes")
    with pytest.raises(ValueError, match="groupId"):
        notes.send({}, {"type": "ping"})
    with pytest.raises(ValueError, match="'id'"):
        notes.send({"groupId": "g", "id": 7}, {"type": "ping"})
    with pytest.raises(ValueError, match="event like"):
        notes.send({"groupId": "g"}, {"data": 1})
    with pytest.raises(ValueError, match="JSON"):
        notes.send({"groupId": "g"}, {"type": "ping", "data": object()})


def test_tokens_come_from_subprotocol_header_or_query() -> None:
    def token(**scope: Any) -> str | None:
        return StreamAuthRequest.from_scope({"headers": [], **scope}).token

    assert token(subprotocols=["Authorization", "t1"]) == "t1"
    assert token(headers=[(b"authorization", b"Bearer t2")]) == "t2"
    assert token(headers=[(b"authorization", b"t3")]) == "t3"
    assert token(query_string=b"authToken=t4") == "t4"
    assert token(subprotocols=["graphql-ws"]) is None


# -- versions ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_each_write_advances_the_items_version() -> None:
    changes: list[tuple[str, int]] = []

    def changed(event: dict[str, Any], version: int, **kwargs: Any) -> None:
        changes.append((event["type"], version))

    stream_changed.connect(changed, dispatch_uid="test-versions")
    try:
        notes = Stream("notes")
        before = database_clock("default")
        notes.set("v", "a", {"title": "one"})
        notes.update("v", "a", [{"type": "set", "path": "done", "value": True}])
        notes.set("v", "a", {"title": "three"})
        assert StreamItem.objects.get(stream="notes", group="v", key="a").version == changes[-1][1]
        notes.delete("v", "a")
        notes.set("v", "a", {"title": "again"})
    finally:
        stream_changed.disconnect(dispatch_uid="test-versions")
    first = changes[0][1]
    assert before <= first <= database_clock("default")  # a new item starts at the database clock
    assert changes[:4] == [("create", first), ("update", first + 1), ("update", first + 2), ("delete", first + 3)]
    assert changes[4][0] == "create" and changes[4][1] > first + 3  # a new life, above the old one


VERSIONS_SCRIPT = textwrap.dedent(
    """
    import sys, django
    django.setup()
    from motia_django.signals import stream_changed
    from motia_django.streams.stream import Stream

    seen = []
    stream_changed.connect(lambda version, **kwargs: seen.append(version), weak=False)
    notes = Stream("notes")
    for n in range(int(sys.argv[1])):
        notes.update("race", "a", [{"type": "increment", "path": "n", "value": 1}])
    print(*seen)
    """
)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_writers_in_two_processes_get_one_version_each(tmp_path: Path) -> None:
    Stream("notes").set("race", "a", {"title": "raced", "n": 0})
    start = StreamItem.objects.get(stream="notes", group="race", key="a").version
    script = tmp_path / "race.py"
    script.write_text(VERSIONS_SCRIPT)
    procs = [subprocess.Popen([sys.executable, str(script), "300"], cwd=ROOT, env=child_env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    seen = [[int(v) for v in out.split()] for out, _ in outputs]
    assert all(versions == sorted(versions) for versions in seen)
    assert sorted(seen[0] + seen[1]) == list(range(start + 1, start + 601))  # none shared, none skipped
    assert Stream("notes").get("race", "a")["n"] == 600


# -- the WebSocket endpoint ----------------------------------------------------------------------

live = pytest.mark.slow


@live
def test_group_subscription_syncs_then_follows_changes(server: str) -> None:
    write(server, op="set", stream="notes", group="g1", id="a", data={"title": "first"})
    with Client(ws_url(server)) as client:
        client.join("notes", "g1")
        assert client.event() == {"type": "sync", "data": [{"title": "first", "id": "a"}]}
        write(server, op="set", stream="notes", group="g1", id="b", data={"title": "second"})
        frame = client.recv()
        assert (frame["streamName"], frame["groupId"], frame["id"]) == ("notes", "g1", "b")
        assert frame["event"] == {"type": "create", "data": {"title": "second", "id": "b"}}
        write(server, op="update", stream="notes", group="g1", id="b",
              ops=[{"type": "set", "path": "done", "value": True}])
        assert client.event() == {"type": "update", "data": {"title": "second", "done": True, "id": "b"}}
        write(server, op="delete", stream="notes", group="g1", id="a")
        assert client.event() == {"type": "delete", "data": {"title": "first", "id": "a"}}
        write(server, op="set", stream="notes", group="other", id="c", data={"title": "elsewhere"})
        client.quiet()


@live
def test_item_subscription_gets_only_its_item(server: str) -> None:
    with Client(ws_url(server)) as client:
        client.join("notes", "g1", item="a")
        sync = client.recv()
        assert sync["id"] == "a" and sync["event"] == {"type": "sync", "data": None}
        write(server, op="set", stream="notes", group="g1", id="b", data={"title": "not mine"})
        write(server, op="set", stream="notes", group="g1", id="a", data={"title": "mine"})
        write(server, op="set", stream="notes", group="g1", id="a", data={"title": "mine", "done": True})
        created, updated = client.recv(), client.recv()
        assert created["event"] == {"type": "create", "data": {"title": "mine", "id": "a"}}
        assert updated["event"] == {"type": "update", "data": {"title": "mine", "done": True, "id": "a"}}
        # the Motia client drops frames not newer than the last it applied
        assert updated["timestamp"] > created["timestamp"] > sync["timestamp"]
        client.quiet()


@live
def test_custom_events_reach_group_and_item_subscribers(server: str) -> None:
    with Client(ws_url(server)) as group, Client(ws_url(server)) as item, Client(ws_url(server)) as other_item:
        group.join("notes", "g1")
        item.join("notes", "g1", item="a")
        other_item.join("notes", "g1", item="b")
        for client in (group, item, other_item):
            assert client.event()["type"] == "sync"
        write(server, op="event", stream="notes", group="g1", type="typing", data={"who": "ann"})
        expected = {"type": "event", "event": {"type": "typing", "data": {"who": "ann"}}}
        assert group.event() == expected
        item.quiet(0.3)
        write(server, op="event", stream="notes", group="g1", id="a", type="ping", data=1)
        assert item.event() == group.event() == {"type": "event", "event": {"type": "ping", "data": 1}}
        other_item.quiet()


@live
def test_a_socket_in_an_item_and_its_group_gets_each_frame_once(server: str) -> None:
    with Client(ws_url(server)) as client:
        client.join("notes", "g1")
        client.join("notes", "g1", item="a")
        assert client.event()["type"] == client.event()["type"] == "sync"
        write(server, op="set", stream="notes", group="g1", id="a", data={"title": "one copy"})
        write(server, op="event", stream="notes", group="g1", id="a", type="ping", data=2)
        assert client.event()["type"] == "create"
        assert client.event() == {"type": "event", "event": {"type": "ping", "data": 2}}
        client.quiet()


@live
def test_leave_and_subscriptions_sharing_a_room(server: str) -> None:
    with Client(ws_url(server)) as client:
        first = client.join("notes", "g1")
        second = client.join("notes", "g1")
        assert client.event()["type"] == client.event()["type"] == "sync"
        write(server, op="set", stream="notes", group="g1", id="a", data={"title": "once"})
        assert client.event()["type"] == "create"
        client.quiet(0.5)  # one copy per room, however many subscriptions share it
        client.leave("notes", "g1", first)
        write(server, op="set", stream="notes", group="g1", id="b", data={"title": "still joined"})
        assert client.event()["type"] == "create"
        client.leave("notes", "g1", second)
        client.leave("notes", "g1", "never-joined")
        write(server, op="set", stream="notes", group="g1", id="c", data={"title": "gone"})
        client.quiet()


@live
def test_malformed_frames_get_errors_and_the_connection_survives(server: str) -> None:
    bad_frames: list[Any] = [
        "not json", b"\x00binary", "[1, 2]", {"type": "subscribe", "data": {}}, {"type": "join"},
        {"type": "join", "data": {"streamName": "notes", "subscriptionId": "s"}},
        {"type": "join", "data": {"streamName": "notes", "groupId": "g", "subscriptionId": "s", "id": 5}},
        {"type": "join", "data": {"streamName": "nope", "groupId": "g", "subscriptionId": "s"}},
    ]
    with Client(ws_url(server)) as client:
        for frame in bad_frames:
            client.send(frame)
            reply = client.recv()
            assert reply["type"] == "error" and reply["error"]["message"], (frame, reply)
        assert reply["error"]["code"] == "unknown_stream"
        client.join("notes", "g1")
        assert client.event() == {"type": "sync", "data": []}


@live
def test_subscriptions_per_connection_are_capped(transactional_db: None, tmp_path: Path) -> None:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_STREAM_MAX_SUBSCRIPTIONS="2")
    try:
        with Client(ws_url(base)) as client:
            first = client.join("notes", "g1")
            client.join("notes", "g2")
            assert client.event()["type"] == client.event()["type"] == "sync"
            client.join("notes", "g2", subscription=first)  # replacing one is not a new one
            assert client.event()["type"] == "sync"
            client.join("notes", "g3")
            reply = client.recv()
            assert reply["type"] == "error" and reply["error"]["code"] == "too_many_subscriptions", reply
            write(base, op="set", stream="notes", group="g3", id="a", data={"title": "not joined"})
            client.quiet()
            client.leave("notes", "g2", first)
            client.join("notes", "g3")
            assert client.event() == {"type": "sync", "data": [{"id": "a", "title": "not joined"}]}
    finally:
        proc.stop()


@live
def test_tokens_decide_who_joins_what(server: str) -> None:
    url = ws_url(server)
    with Client(url, token="alice-token") as alice, Client(url, header="Bearer bob-token") as bob, \
            Client(url) as anonymous:
        assert alice.ws.subprotocol == "Authorization"  # echoed, as browsers require
        alice.join("inbox", "alice")
        assert alice.event() == {"type": "sync", "data": []}
        for client in (bob, anonymous):
            client.join("inbox", "alice")
            refused = client.recv()
            assert refused["event"] == {"type": "unauthorized"} and refused["groupId"] == "alice"
        bob.join("inbox", "bob")
        assert bob.event()["type"] == "sync"
        write(server, op="set", stream="inbox", group="alice", id="m1", data={"text": "for alice only"})
        assert alice.event() == {"type": "create", "data": {"text": "for alice only", "id": "m1"}}
        bob.quiet(0.3)
        anonymous.quiet(0.1)
        # no can_access: denied by default because an authenticate hook is configured
        alice.join("todos", "default")
        assert alice.event() == {"type": "unauthorized"}
        # can_access from settings (async): anyone signed in
        alice.join("announcements", "all")
        assert alice.event()["type"] == "sync"
        anonymous.join("announcements", "all")
        assert anonymous.event() == {"type": "unauthorized"}
        # an open stream lets everyone in
        anonymous.join("notes", "g1")
        assert anonymous.event()["type"] == "sync"


@live
def test_an_invalid_token_is_refused(server: str) -> None:
    for options in ({"token": "stolen-token"}, {"header": "Bearer stolen-token"}):
        with pytest.raises(InvalidStatus) as refused:
            Client(ws_url(server), **options)
        assert refused.value.response.status_code == 401


def _slow_client(url: str) -> Client:
    """A client that stops reading: a tiny receive buffer, and frames left unread."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
    host, port = url.removeprefix("ws://").rstrip("/").split(":")
    sock.connect((host, int(port)))
    return Client(url, sock=sock, max_queue=1, compression=None, ping_interval=None)


@live
def test_a_slow_client_does_not_hold_up_others_and_resyncs(transactional_db: None, tmp_path: Path) -> None:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_STREAM_CLIENT_BUFFER="20")
    try:
        url = ws_url(base)
        count = 200
        with _slow_client(url) as slow, Client(url, compression=None) as fast:
            slow.join("notes", "bulk")
            fast.join("notes", "bulk")
            assert fast.event()["type"] == "sync"
            started = time.monotonic()
            # 10 MB at 50 KB every 5 ms: a reading client keeps up, one that stops reading cannot
            writer = threading.Thread(target=write, args=(base,), kwargs={
                "op": "bulk", "stream": "notes", "group": "bulk", "count": count, "size": 50_000, "pause": 0.005})
            writer.start()
            created = [fast.event()["data"]["id"] for _ in range(count)]
            writer.join(30)
            assert created == [f"{n:05d}" for n in range(count)]
            assert time.monotonic() - started < 30
            # the slow client gets what was already on its way, then a close: it fell behind
            received = 0
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    slow.recv(timeout=30)
                    received += 1
            assert received < count + 1
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
            fast.quiet(0.2)
        with Client(url, max_size=None) as again:  # reconnecting: the sync has everything
            again.join("notes", "bulk")
            assert len(again.event(timeout=30)["data"]) == count
    finally:
        proc.stop()


@live
def test_a_reconnecting_client_resyncs(server: str) -> None:
    url = ws_url(server)
    with Client(url) as client:
        client.join("notes", "g1")
        assert client.event()["data"] == []
    write(server, op="set", stream="notes", group="g1", id="a", data={"title": "while away"})
    with Client(url) as client:
        client.join("notes", "g1")
        assert client.event() == {"type": "sync", "data": [{"title": "while away", "id": "a"}]}


@live
def test_frames_carry_versions_and_timestamps_rise_on_a_connection(server: str) -> None:
    write(server, op="set", stream="notes", group="gv", id="a", data={"title": "first"})
    with Client(ws_url(server)) as client:
        client.join("notes", "gv")
        client.join("notes", "gv", item="a")
        group_sync, item_sync = client.recv(), client.recv()
        version = group_sync["versions"]["a"]
        assert item_sync["version"] == version and item_sync["event"]["data"] == {"title": "first", "id": "a"}
        write(server, op="update", stream="notes", group="gv", id="a",
              ops=[{"type": "set", "path": "done", "value": True}])
        write(server, op="event", stream="notes", group="gv", id="a", type="ping", data=1)
        write(server, op="delete", stream="notes", group="gv", id="a")
        write(server, op="set", stream="notes", group="gv", id="a", data={"title": "again"})
        frames = [client.recv() for _ in range(4)]
        assert [f["event"]["type"] for f in frames] == ["update", "event", "delete", "create"]
        assert [f.get("version") for f in frames[:3]] == [version + 1, None, version + 2]
        assert frames[3]["version"] > version + 2
        stamps = [f["timestamp"] for f in [group_sync, item_sync, *frames]]
        assert stamps == sorted(set(stamps))  # the Motia client applies each, in order
        assert motia_item_view([item_sync, *frames]) == {"title": "again", "id": "a"}
        client.quiet()


@live
def test_a_change_whose_frame_was_lost_is_resynced(transactional_db: None, tmp_path: Path) -> None:
    proc, base = start_uvicorn(tmp_path / "uvicorn.log", MOTIA_STREAM_RESYNC_INTERVAL="0.5")
    try:
        with Client(ws_url(base)) as client:
            client.join("notes", "lost")
            client.join("notes", "lost", item="a")
            assert client.event()["type"] == client.event()["type"] == "sync"
            client.quiet(1.5)  # nothing missed, nothing resent
            # written here, on the in-memory layer of a process that serves no socket: the frame
            # goes nowhere, as when a writer dies between its commit and sending the frame
            Stream("notes").set("lost", "a", {"title": "frame lost"})
            version = StreamItem.objects.get(stream="notes", group="lost", key="a").version
            group, item = client.recv(timeout=5), client.recv(timeout=5)
            assert group["event"] == {"type": "sync", "data": [{"title": "frame lost", "id": "a"}]}
            assert group["versions"] == {"a": version} and "id" not in group
            assert item["event"] == {"type": "sync", "data": {"title": "frame lost", "id": "a"}}
            assert item["version"] == version and item["timestamp"] > group["timestamp"]
            client.quiet(1.5)
    finally:
        proc.stop()
