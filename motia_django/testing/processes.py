"""Child processes for tests and benchmarks: servers, workers and beats started, awaited and stopped one way.

A child writes its output to a log file, so a failure to start can show what it said.
It leads its own session and process group (whose id is its PID): it is stopped by
that PID, and one that does not stop in time is killed together with the processes
it started (a worker's pool, ``motia_dev``'s server, worker and beat), never by name.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

__all__ = ["ChildProcess", "log_shows"]


class ChildProcess:
    """A process started with its stdout and stderr in ``log``."""

    def __init__(
        self, args: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None, cwd: Path | str | None = None,
        name: str = "",
    ) -> None:
        self.name = name or Path(args[0]).name
        self.log_path = log
        self._log = log.open("wb")
        self.popen = subprocess.Popen(list(args), cwd=cwd, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                      start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        """Everything the child logged so far (read again on each call: it keeps writing)."""
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        """The end of the log, for error messages that must stay readable."""
        return "\n".join(self.output().splitlines()[-lines:])

    def wait_until_ready(
        self, ready: Callable[[ChildProcess], bool], timeout: float = 60, interval: float = 0.1,
    ) -> ChildProcess:
        """Poll ``ready(self)`` until it holds; the child is stopped if anything interrupts the wait.

        Raises ``RuntimeError`` with the log's tail when the child exits or ``timeout`` passes first.
        """
        try:
            deadline = time.monotonic() + timeout
            while not ready(self):
                if self.popen.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{self.name} did not start within {timeout:g} s:\n{self.tail()}")
                time.sleep(interval)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL to its process group after ``timeout`` seconds; a no-op once it ended."""
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                # not reaped yet, so its PID is still the id of the group it leads
                try:
                    os.killpg(self.popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.popen.wait()
        self._log.close()


def log_shows(text: str) -> Callable[[ChildProcess], bool]:
    """A ``ready`` test: the child's log contains ``text`` (e.g. Celery's ``" ready."``)."""
    return lambda child: text in child.output()
