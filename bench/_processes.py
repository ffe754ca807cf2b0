"""The processes a benchmark starts (servers, workers, beats): one way to start, await and stop them.

Each child writes its stdout and stderr to a log file, so a failure to start can
show what the child said, and a script can read what it logged.  A child is
stopped by its own PID only (SIGTERM, then SIGKILL after a grace period): a
benchmark must never touch processes it did not start, such as a test suite's
workers running on the same machine.

The scripts import this as ``_processes`` (run as ``python bench/<name>.py``, even
from another folder, ``bench/`` is the first entry of ``sys.path``), and fall back to
``bench._processes`` when run as ``python -m bench.<name>`` from the repository root.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Child", "log_shows", "start"]

#: Seconds to wait for a child to be reaped once SIGKILL was sent (it cannot ignore it).
KILL_WAIT = 5.0


@dataclass
class Child:
    """A process a benchmark started, its output in ``log``; stopped by its PID, never by name."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def output(self) -> str:
        """Everything the child logged so far (read again on each call: the child keeps writing)."""
        return self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for error messages that must stay readable."""
        return "\n".join(self.output().splitlines()[-lines:])

    def stop(self, grace: float = 15.0) -> None:
        """SIGTERM, then SIGKILL if it is still running after ``grace`` seconds; a no-op once it ended.

        A child that already ended is not signalled: its PID may belong to another process by now.
        """
        if self.process.poll() is not None:
            return
        os.kill(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=KILL_WAIT)


def log_shows(text: str) -> Callable[[Child], bool]:
    """A ``ready`` test for :func:`start`: the child's log contains ``text`` (e.g. Celery's `` ready.``)."""
    return lambda child: text in child.output()


def start(
    name: str,
    args: Sequence[str],
    *,
    log: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ready: Callable[[Child], bool] | None = None,
    timeout: float = 60.0,
    interval: float = 0.1,
) -> Child:
    """Start ``args`` with its output in ``log`` and, given ``ready``, poll it until it holds.

    Polling stops with a ``RuntimeError`` carrying the log's tail when the child exits or
    ``timeout`` seconds pass first.  Whatever interrupts the wait (that error, one raised by
    ``ready``, Ctrl-C), the child is stopped before it propagates, so no server outlives its script.
    """
    with log.open("wb") as out:  # the child keeps its own descriptor of the file
        process = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    child = Child(name, process, log)
    if ready is None:
        return child
    try:
        deadline = time.monotonic() + timeout
        while not ready(child):
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited with {process.returncode}:\n{child.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start within {timeout:g} s:\n{child.tail()}")
            time.sleep(interval)
    except BaseException:
        child.stop()
        raise
    return child
