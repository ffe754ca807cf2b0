"""The published Motia stream client (``@motiadev/stream-client-node``, pinned in
``tests/node/package.json``) under Node, against uvicorn, following writes made by a
Celery worker."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, Process, clock_off, require_tool, start_uvicorn
from .test_streams import write, ws_url
from .test_streams_redis import enqueue, redis_layer, served  # noqa: F401  (fixtures)

Worker = Callable[..., Process]

pytestmark = [pytest.mark.slow, pytest.mark.services]

NODE_DIR = ROOT / "tests" / "node"


@pytest.fixture(scope="session")
def node_client() -> list[str]:
    """``node watch.mjs``, after ``npm ci`` from the lock file if the client is not installed yet."""
    node, npm = require_tool("node"), require_tool("npm")
    if not (NODE_DIR / "node_modules" / "@motiadev" / "stream-client-node").is_dir():
        done = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=NODE_DIR, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
    return [node, str(NODE_DIR / "watch.mjs")]


class Watcher:
    """The Node process and the states it printed."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, cwd=NODE_DIR, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"})
        self.records: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.records.append(json.loads(line))
                self._changed.notify_all()

    def latest(self, kind: str) -> Any:
        found = [r for r in self.records if r["kind"] == kind]
        return found[-1] if found else None

    def wait_for(self, predicate: Callable[[Watcher], bool], what: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not predicate(self):
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    stderr = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr else ""
                    pytest.fail(f"the Motia client never saw {what}; it printed {self.records}\n{stderr}")
                self._changed.wait(remaining)

    def group(self) -> list[dict[str, Any]] | None:
        record = self.latest("group")
        return None if record is None else list(record["items"])

    def item(self) -> Any:
        record = self.latest("item")
        return None if record is None else record["value"]

    def stop(self) -> int:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            return self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def test_the_published_motia_client_follows_worker_writes(served: str, node_client: list[str]) -> None:  # noqa: F811
    write(served, op="set", stream="notes", group="node", id="a", data={"title": "first"})
    # a token offered as the ["Authorization", token] subprotocol: ws fails unless the server echoes it
    watcher = Watcher([*node_client, ws_url(served), "notes", "node", "a", "alice-token"])
    try:
        watcher.wait_for(lambda w: w.group() == [{"title": "first", "id": "a"}], "the group sync")
        watcher.wait_for(lambda w: w.item() == {"title": "first", "id": "a"}, "the item sync")

        enqueue(served, op="set", stream="notes", group="node", id="b", data={"title": "second"})
        watcher.wait_for(lambda w: [i["id"] for i in w.group() or []] == ["a", "b"], "the worker's create")
        assert watcher.group()[1] == {"title": "second", "writer": "w1", "id": "b"}  # type: ignore[index]

        enqueue(served, op="update", stream="notes", group="node", id="a",
                ops=[{"type": "set", "path": "done", "value": True}])
        watcher.wait_for(lambda w: (w.item() or {}).get("done") is True, "the worker's update of the item")
        watcher.wait_for(lambda w: (w.group() or [{}])[0].get("done") is True, "the update in the group")

        enqueue(served, op="event", stream="notes", group="node", id="a", type="ping", data={"n": 1})
        watcher.wait_for(lambda w: w.latest("item-event") is not None and w.latest("group-event") is not None,
                         "the custom event")
        assert watcher.latest("item-event")["data"] == {"n": 1}

        enqueue(served, op="delete", stream="notes", group="node", id="b")
        watcher.wait_for(lambda w: [i["id"] for i in w.group() or []] == ["a"], "the worker's delete")
        enqueue(served, op="delete", stream="notes", group="node", id="a")
        watcher.wait_for(lambda w: w.group() == [] and w.latest("item")["value"] is None, "the item's deletion")
        assert len([r for r in watcher.records if r["kind"] == "item-event"]) == 1  # each frame once
    finally:
        assert watcher.stop() == 0


def test_the_motia_client_keeps_the_writes_of_a_worker_whose_clock_is_behind(
        redis_layer: dict[str, Any], start_worker: Worker, tmp_path: Path, node_client: list[str]) -> None:  # noqa: F811
    start_worker("w1", **clock_off(-60))
    proc, base = start_uvicorn(tmp_path / "uvicorn.log")
    watcher: Watcher | None = None
    try:
        write(base, op="set", stream="notes", group="skew", id="a", data={"title": "by the server"})
        watcher = Watcher([*node_client, ws_url(base), "notes", "skew", "a"])
        watcher.wait_for(lambda w: w.item() == {"title": "by the server", "id": "a"}, "the item sync")
        enqueue(base, op="update", stream="notes", group="skew", id="a",
                ops=[{"type": "set", "path": "title", "value": "by the worker"}])
        watcher.wait_for(lambda w: (w.group() or [{}])[0].get("title") == "by the worker", "the update in the group")
        watcher.wait_for(lambda w: (w.item() or {}).get("title") == "by the worker", "the worker's update of the item")
    finally:
        if watcher is not None:
            assert watcher.stop() == 0
        proc.stop()
