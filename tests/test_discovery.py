"""Discovery: finding step files, the forms a step may take, and errors with file and line."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from motia_django.registry import Registry

HERE = Path(__file__).resolve().parent
BROKEN = HERE / "broken_steps"
ROOT = HERE.parent


def discover(*parts: str) -> Registry:
    return Registry.discover([HERE.joinpath(*parts)])


def test_recursive_discovery_of_both_suffixes_and_any_variable_name() -> None:
    registry = discover("good_steps")
    assert registry.errors == []
    assert sorted(registry.steps) == ["built", "consumer", "producer", "virtual"]
    assert registry.steps["built"].file_path.endswith("nested/builder_step.py")
    assert registry.steps["producer"].file_path.endswith("deeper/orders.step.py")


def test_topic_warnings_respect_virtual_edges() -> None:
    warnings = discover("good_steps").warnings
    assert any("'dangling' is enqueued by producer but no step subscribes" in w for w in warnings)
    assert any("'orphan' is subscribed by consumer but no step enqueues" in w for w in warnings)
    assert not any("'external'" in w for w in warnings)
    assert not any("'used'" in w for w in warnings)


@pytest.mark.parametrize(
    ("case", "file", "line", "needle"),
    [
        ("syntax", "oops_step.py", 5, "SyntaxError"),
        ("import_error", "missing_dep_step.py", 3, "No module named 'a_module_that_does_not_exist'"),
        ("bad_config", "bad.step.py", 8, "triggers.0.http.path"),
        ("bad_module_config", "legacy_step.py", 3, "infrastructure.queue.maxRetries"),
        ("bad_cron", "tick_step.py", 8, "invalid hour field '25'"),
        ("no_handler", "builder_step.py", 3, "has no handler"),
    ],
)
def test_broken_files_are_reported_with_file_and_line(case: str, file: str, line: int, needle: str) -> None:
    registry = discover("broken_steps", case)
    assert registry.steps == {}
    [error] = registry.errors
    assert error.file.endswith(file)
    assert error.line == line
    assert needle in error.message


def test_bad_config_names_step_and_fields() -> None:
    [error] = discover("broken_steps", "bad_config").errors
    assert error.step == "bad-config"
    assert "must start with '/'" in error.message and "unsupported HTTP method 'FETCH'" in error.message


def test_duplicate_step_names_are_errors() -> None:
    registry = discover("broken_steps", "duplicates")
    assert list(registry.steps) == ["same"]
    assert "duplicate step name 'same'" in registry.errors[0].message


def test_same_method_and_path_is_an_error_whatever_the_param_names() -> None:
    registry = discover("broken_steps", "route_clash")
    assert len(registry.routes) == 1
    assert "GET /items/{itemId} of step 'two' is already served by step 'one'" in registry.errors[0].message


def test_valid_steps_survive_a_broken_neighbour() -> None:
    registry = Registry.discover([BROKEN / "syntax", HERE / "good_steps"])
    assert len(registry.steps) == 4 and len(registry.errors) == 1


def _manage(*args: str, steps: Path) -> subprocess.CompletedProcess[str]:
    """Run ``manage.py`` on the example project's embedded SQLite in a directory of its own.

    No ``DATABASE_URL``: on the PostgreSQL pass the test settings put the real database there,
    and ``motia_discover`` would sync its cron entries into it.
    """
    import os

    with tempfile.TemporaryDirectory(prefix="motia-discover-") as var_dir:
        env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "TEST_DATABASE_URL")}
        env.update({"DJANGO_SETTINGS_MODULE": "project.settings", "MOTIA_STEPS_DIR": str(steps),
                    "MOTIA_VAR_DIR": var_dir, "PATH": "/usr/bin:/bin"})
        return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=120)


def test_motia_discover_prints_a_table() -> None:
    result = _manage("motia_discover", steps=HERE / "good_steps")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["STEP", "FILE", "TRIGGERS", "ENQUEUES", "FLOWS"]
    producer = next(line for line in lines if line.startswith("producer"))
    assert "POST /produce" in producer and "used, dangling" in producer and producer.rstrip().endswith("f")
    assert "warning: topic 'dangling'" in result.stdout


def test_motia_discover_json() -> None:
    result = _manage("motia_discover", "--json", steps=HERE / "good_steps")
    data = json.loads(result.stdout)
    consumer = next(s for s in data["steps"] if s["name"] == "consumer")
    assert consumer["triggers"] == [{"type": "queue", "topics": ["used"]}, {"type": "queue", "topics": ["orphan"]}]
    assert data["errors"] == []


def test_motia_discover_check_fails_on_errors() -> None:
    result = _manage("motia_discover", "--check", steps=BROKEN / "route_clash")
    assert result.returncode == 1
    assert "already served by step 'one'" in result.stderr


def test_motia_discover_check_passes_on_valid_steps() -> None:
    assert _manage("motia_discover", "--check", steps=HERE / "good_steps").returncode == 0


def test_manage_py_check_reports_discovery_errors_without_failing() -> None:
    """A broken step file is a warning: an error would stop ``migrate`` and ``runserver`` too."""
    result = _manage("check", steps=BROKEN / "syntax")
    assert result.returncode == 0
    assert "motia.W002" in result.stderr and "oops_step.py:5" in result.stderr
