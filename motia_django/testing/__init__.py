"""Testing support for step authors: the ``motia`` pytest fixtures and the objects behind them.

The plugin is registered automatically (``pytest11`` entry point) when
motia-django is installed; see ``docs/testing.md``.  The names below load
lazily, because pytest imports the plugin before Django is set up.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Enqueued", "LiveWorker", "MotiaHarness"]


def __getattr__(name: str) -> Any:
    if name in ("Enqueued", "MotiaHarness"):
        from . import harness

        return getattr(harness, name)
    if name == "LiveWorker":
        from .worker import LiveWorker

        return LiveWorker
    raise AttributeError(name)
