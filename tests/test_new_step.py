"""``manage.py motia_new_step``: each kind of file it writes passes discovery; bad input is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from .conftest import ROOT


def _manage(steps: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
    env.update({"DJANGO_SETTINGS_MODULE": "project.settings", "MOTIA_STEPS_DIR": str(steps), "DJANGO_DEBUG": "1"})
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_every_kind_written_passes_discovery(tmp_path: Path) -> None:
    steps = tmp_path / "steps"
    steps.mkdir()
    commands = [
        ("nsx-create-order", "--http", "POST", "/nsx/orders/:id"),
        ("nsx-quoted", "--http", "GET", "/nsx/say\"hi\"\\"),
        ("nsx-list-orders", "--http", "get", "/nsx/orders", "--async"),
        ("nsx-ship", "--queue", "nsx.order.created"),
        ("nsx-ship-async", "--queue", "nsx.order.paid", "--async", "--dir", "shipping"),
        ("nsx-hourly", "--cron", "0 * * * *"),
        ("nsx-every-ten-seconds", "--cron", "*/10 * * * * *", "--async"),
    ]
    for command in commands:
        written = _manage(steps, "motia_new_step", *command)
        assert written.returncode == 0, written.stderr
    assert (steps / "nsx_create_order_step.py").is_file() and (steps / "shipping" / "nsx_ship_async_step.py").is_file()
    found = _manage(steps, "motia_discover", "--check", "--json", "--no-sync")
    assert found.returncode == 0, found.stderr
    triggers = {item["name"]: item["triggers"][0] for item in json.loads(found.stdout)["steps"]}
    created = triggers["nsx-create-order"]
    assert (created["type"], created["method"], created["path"]) == ("http", "POST", "/nsx/orders/:id")
    assert triggers["nsx-list-orders"]["method"] == "GET" and triggers["nsx-quoted"]["path"] == "/nsx/say\"hi\"\\"
    assert triggers["nsx-ship"]["topics"] == ["nsx.order.created"]
    assert triggers["nsx-ship-async"]["topics"] == ["nsx.order.paid"]
    assert triggers["nsx-hourly"]["expression"] == "0 * * * *"
    assert triggers["nsx-every-ten-seconds"]["expression"] == "*/10 * * * * *"
    assert "async def handler" in (steps / "nsx_list_orders_step.py").read_text()
    assert "async def handler" not in (steps / "nsx_ship_step.py").read_text()


def test_an_existing_file_is_not_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "nsx_keep_step.py"
    target.write_text("# mine\n")
    with override_settings(MOTIA={"STEPS_DIRS": [str(tmp_path)]}), pytest.raises(CommandError, match="exists already"):
        call_command("motia_new_step", "nsx-keep", "--queue", "nsx.keep")
    assert target.read_text() == "# mine\n"


def test_a_name_taken_by_a_loaded_step_is_refused(tmp_path: Path) -> None:
    with override_settings(MOTIA={"STEPS_DIRS": [str(tmp_path)]}), pytest.raises(CommandError, match="named 'hello'"):
        call_command("motia_new_step", "hello", "--queue", "nsx.hello")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("args", "error"), [
    (["nsx bad name", "--queue", "nsx.t"], "must start with a letter"),
    (["9lives", "--queue", "nsx.t"], "must start with a letter"),
    (["nsx-a", "--http", "FETCH", "/nsx"], "unsupported HTTP method 'FETCH'"),
    (["nsx-a", "--http", "GET", "nsx/no-slash"], "must start with '/'"),
    (["nsx-a", "--http", "GET", "/nsx/:9id"], "must be a valid identifier"),
    (["nsx-a", "--queue", "nsx topic"], "topic 'nsx topic'"),
    (["nsx-a", "--cron", "61 * * * *"], "invalid cron expression: .*minute"),
    (["nsx-a", "--cron", "* * *"], "invalid cron expression: .*3 fields"),
])
def test_bad_input_is_refused_with_a_reason(tmp_path: Path, args: list[str], error: str) -> None:
    with override_settings(MOTIA={"STEPS_DIRS": [str(tmp_path)]}), pytest.raises(CommandError, match=error):
        call_command("motia_new_step", *args)
    assert not list(tmp_path.iterdir())
