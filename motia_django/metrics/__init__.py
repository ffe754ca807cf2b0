"""Prometheus metrics: counters kept at the runtime's seams, figures read at scrape time, the endpoint.

The seams (HTTP views, deliveries, dead letters, cron ticks) call :mod:`.instruments`,
which imports nothing of the runtime; :mod:`.collectors` and :mod:`.views` read the
broker and the database and are imported only by the URL configuration.
"""

from __future__ import annotations

from .instruments import attempt_ended, cron_tick_produced, dead_letter_written, http_request_ended

__all__ = ["attempt_ended", "cron_tick_produced", "dead_letter_written", "http_request_ended"]
