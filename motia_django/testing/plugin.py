"""pytest fixtures for step authors (registered through the ``pytest11`` entry point).

* ``motia``: call HTTP steps, capture enqueued messages, ``drain()`` them in-process,
  ``tick()`` cron steps, read and seed ``state`` and ``streams``.
* ``motia_worker``: a real Celery worker on the test database (``-A`` from
  ``--motia-celery-app``, default: the settings module's package).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["motia", "motia_worker"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--motia-celery-app", default=None, help="Celery app for the motia_worker fixture (-A)")


@pytest.fixture
def motia(transactional_db: None) -> Iterator[Any]:
    """Steps in-process: enqueued messages are captured, and run by ``motia.drain()``."""
    from .harness import MotiaHarness

    harness = MotiaHarness()
    with harness.capturing():
        yield harness


@pytest.fixture
def motia_worker(transactional_db: None, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A real Celery worker on the test database; ``motia_worker.wait_for(predicate)``."""
    from .worker import LiveWorker

    app = request.config.getoption("--motia-celery-app") or os.environ["DJANGO_SETTINGS_MODULE"].split(".")[0]
    worker = LiveWorker(app).wait_ready()
    yield worker
    worker.stop(timeout=20)
