"""A real Celery worker process for tests, on the test database."""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

from .processes import ChildProcess, log_shows

__all__ = ["LiveWorker"]

_SETTINGS = """from {module} import *  # noqa: F403
from {module} import DATABASES

DATABASES["default"].update({overrides!r})
DATABASES["default"]["TEST"] = {{"NAME": {name!r}}}
"""


class LiveWorker(ChildProcess):
    """``celery -A <app> worker`` whose settings point at the test database.

    The worker imports a generated settings module that extends the project's
    and names the test database, so it sees what the test wrote.
    """

    def __init__(self, app: str, concurrency: int = 2, extra_args: tuple[str, ...] = ()) -> None:
        name = connection.settings_dict["NAME"]
        if connection.vendor == "sqlite" and (not name or ":memory:" in str(name) or "mode=memory" in str(name)):
            raise RuntimeError("a live worker needs a file SQLite test database: set DATABASES TEST NAME to a path")
        self._dir = Path(tempfile.mkdtemp(prefix="motia-worker-"))
        module = f"motia_worker_settings_{os.getpid()}"
        (self._dir / f"{module}.py").write_text(_SETTINGS.format(
            module=os.environ["DJANGO_SETTINGS_MODULE"], overrides={"NAME": name}, name=name,
        ))
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": module,
               "PYTHONPATH": os.pathsep.join(filter(None, [str(self._dir), str(settings.BASE_DIR),
                                                          os.environ.get("PYTHONPATH")]))}
        super().__init__(
            [sys.executable, "-m", "celery", "-A", app, "worker", "--loglevel", "INFO", "--concurrency",
             str(concurrency), "--without-gossip", "--without-mingle", *extra_args],
            log=self._dir / "worker.log", env=env, name="the worker",
        )

    def wait_ready(self, timeout: float = 60) -> LiveWorker:
        self.wait_until_ready(log_shows(" ready."), timeout)
        return self

    def wait_for(self, predicate: Any, timeout: float = 30, interval: float = 0.1) -> None:
        """Poll ``predicate()`` until it is true (the worker runs in its own process)."""
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout}s; worker log:\n{self.output()[-3000:]}")
            time.sleep(interval)
