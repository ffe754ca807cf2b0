"""Test-only: a child process started with this folder on its path reads a wall clock that is off.

``MOTIA_TEST_CLOCK_OFFSET`` seconds (negative: behind) are added to ``time.time`` and
``time.time_ns``, as on a host whose clock drifted; the monotonic clock is left alone.
See ``tests.conftest.clock_off``.
"""

from __future__ import annotations

import os
import time

_offset = float(os.environ.get("MOTIA_TEST_CLOCK_OFFSET", "0"))
_time, _time_ns = time.time, time.time_ns


def _shifted_time() -> float:
    return _time() + _offset


def _shifted_time_ns() -> int:
    return _time_ns() + int(_offset * 1_000_000_000)


time.time = _shifted_time
time.time_ns = _shifted_time_ns
