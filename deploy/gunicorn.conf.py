"""gunicorn hooks for Prometheus metrics across worker processes (docs/operations.md).

The command line carries the server options (bind, workers, timeouts); this file
only keeps ``PROMETHEUS_MULTIPROC_DIR`` right: empty when the server starts, and
a dead worker's live values forgotten.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    """Values a previous run left would be summed into this run's scrapes: start from an empty directory."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
