"""The embedded filesystem broker: whole messages only, and no file it cannot parse is lost."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import kombu
import pytest
from kombu.transport.virtual import BrokerState

from motia_django.queues.dev_broker import Transport


@pytest.fixture
def folders(tmp_path: Path) -> dict[str, Path]:
    names = ("in", "processed", "control")
    for name in names:
        (tmp_path / name).mkdir()
    return {name: tmp_path / name for name in names} | {"rejected": tmp_path / "rejected"}


@pytest.fixture
def connection(folders: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[kombu.Connection]:
    # the transport keeps the bindings it wrote in a process-wide state: each test starts afresh
    monkeypatch.setattr(Transport, "global_state", BrokerState())
    options = {"data_folder_in": str(folders["in"]), "data_folder_out": str(folders["in"]),
               "processed_folder": str(folders["processed"]), "control_folder": str(folders["control"]),
               "rejected_folder": str(folders["rejected"])}
    with kombu.Connection("filesystem://", transport=Transport, transport_options=options) as conn:
        yield conn


def test_messages_go_through_and_leave_nothing_behind(connection: kombu.Connection, folders: dict[str, Path]) -> None:
    queue = connection.SimpleQueue("jobs")
    for n in range(5):
        queue.put({"n": n})
    assert [p.name.endswith(".jobs.msg") for p in folders["in"].iterdir()] == [True] * 5
    received = []
    for _ in range(5):
        message = queue.get(timeout=1)
        received.append(message.payload["n"])
        message.ack()
    assert sorted(received) == [0, 1, 2, 3, 4]  # in the order written, to the millisecond: as kombu's
    assert list(folders["in"].iterdir()) == []
    queue.close()


def test_a_message_is_invisible_until_written_whole(connection: kombu.Connection, folders: dict[str, Path],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    queue = connection.SimpleQueue("jobs")
    renames: list[tuple[str, dict[str, object], int, bool]] = []
    rename = os.replace

    def replace(src: str, dst: str) -> None:
        renames.append((Path(src).name, json.loads(Path(src).read_text()), queue.qsize(), Path(dst).exists()))
        rename(src, dst)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", replace)
        queue.put({"n": 1})
    [(partial, written, seen, existed)] = renames
    assert partial.startswith(".") and partial.endswith(".jobs.msg.partial")
    assert written["body"] and seen == 0 and not existed  # whole, and not counted before it has its name
    assert queue.qsize() == 1
    assert queue.get(timeout=1).payload == {"n": 1}
    queue.close()


def test_a_file_that_is_not_a_message_is_set_aside_and_the_next_one_delivered(
    connection: kombu.Connection, folders: dict[str, Path], caplog: pytest.LogCaptureFixture
) -> None:
    queue = connection.SimpleQueue("jobs")
    (folders["in"] / "0_half.jobs.msg").write_text('{"body": "ey')  # sorts before any name kombu gives
    queue.put({"n": 1})
    with caplog.at_level(logging.ERROR, logger="motia.queues"):
        message = queue.get(timeout=1)
    assert message.payload == {"n": 1}
    message.ack()
    assert (folders["rejected"] / "0_half.jobs.msg").read_text() == '{"body": "ey'
    assert "0_half.jobs.msg (12 bytes) is not a message; moved to" in caplog.text
    queue.close()
