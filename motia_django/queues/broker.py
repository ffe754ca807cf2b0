"""Broker tuning for at-least-once delivery.

On Redis, a message taken by a worker that then died is handed out again only
after the transport's visibility timeout, checked every
``unacked_restore_interval * unacked_restore_throttle`` seconds (an hour and
100 s by default), by whichever worker holds a mutex that outlives a killed
holder by 5 minutes.  Unless the project set them, the timeout follows the
longest ``visibility_timeout`` of the steps, the check runs every second and
the mutex expires after 10 s.  RabbitMQ
redelivers at once when the consumer's connection drops and needs nothing.
"""

from __future__ import annotations

from typing import Any

from ..conf import motia_settings
from ..registry import get_registry
from .policy import policy_for

__all__ = ["tune_transport"]

_REDIS_SCHEMES = ("redis://", "rediss://", "redis+socket://", "sentinel://")


def tune_transport(app: Any) -> None:
    url = str(app.conf.broker_url or "")
    if not url.startswith(_REDIS_SCHEMES):
        return
    longest = max(
        [motia_settings().VISIBILITY_TIMEOUT, *(policy_for(b).visibility_timeout
                                                 for b in get_registry().background_bindings)]
    )
    options = dict(app.conf.broker_transport_options or {})
    options.setdefault("visibility_timeout", longest)
    options.setdefault("unacked_restore_interval", 1)
    options.setdefault("unacked_restore_throttle", 1)
    # a worker killed while restoring would otherwise block every restore for 5 minutes
    options.setdefault("unacked_mutex_expire", 10)
    app.conf.broker_transport_options = options
