"""Run steps in-process: call HTTP steps, capture enqueued messages and run them synchronously.

Messages are captured at the point where they would be handed to the broker
and delivered with the same :class:`~motia_django.queues.delivery.Delivery`
a worker uses (input schemas, conditions, retries, dead letters, execution
records), only synchronously and without waiting for backoffs.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.http import HttpResponse
from django.test import Client

from ..queues.delivery import Delivery, Result
from ..queues.outbox import intercepted
from ..queues.publisher import build_envelope, publish
from ..registry import Binding, get_registry
from ..state.manager import StateManager
from ..streams.stream import Streams
from ..tracing import new_trace_id
from ..tracing.recorder import flush as flush_records

__all__ = ["Enqueued", "MotiaHarness"]

_MISSING: Any = object()


@dataclass(frozen=True)
class Enqueued:
    """One message as a step enqueued it."""

    topic: str | None
    data: Any
    message_group_id: str | None
    trace_id: str
    envelope: dict[str, Any]


class MotiaHarness:
    """What the ``motia`` fixture returns."""

    def __init__(self) -> None:
        self.client = Client()
        self.state = StateManager()
        self.streams = Streams()
        self._pending: list[tuple[Binding, dict[str, Any]]] = []
        self._messages: dict[str, Enqueued] = {}

    @contextmanager
    def capturing(self) -> Iterator[MotiaHarness]:
        with intercepted(self._capture):
            yield self

    def _capture(self, bindings: Sequence[Binding], envelope: dict[str, Any], delay: float | None) -> None:
        self._messages.setdefault(envelope["id"], Enqueued(
            envelope.get("topic"), envelope.get("data"), envelope.get("messageGroupId"), envelope["traceId"],
            envelope,
        ))
        self._pending.extend((binding, envelope) for binding in bindings)

    # -- HTTP ---------------------------------------------------------------------------------
    def request(self, method: str, path: str, json: Any = _MISSING, *, headers: dict[str, str] | None = None,
                data: bytes | str | None = None, content_type: str = "application/json") -> HttpResponse:
        """Call an HTTP step through Django's full request handling."""
        body = jsonlib.dumps(json) if json is not _MISSING else data
        call = getattr(self.client, method.lower())
        if body is None:
            response: HttpResponse = call(path, headers=headers or {})
        else:
            response = call(path, body, content_type=content_type, headers=headers or {})
        return response

    def get(self, path: str, **options: Any) -> HttpResponse:
        return self.request("GET", path, **options)

    def post(self, path: str, json: Any = _MISSING, **options: Any) -> HttpResponse:
        return self.request("POST", path, json, **options)

    def put(self, path: str, json: Any = _MISSING, **options: Any) -> HttpResponse:
        return self.request("PUT", path, json, **options)

    def patch(self, path: str, json: Any = _MISSING, **options: Any) -> HttpResponse:
        return self.request("PATCH", path, json, **options)

    def delete(self, path: str, **options: Any) -> HttpResponse:
        return self.request("DELETE", path, **options)

    # -- queues ---------------------------------------------------------------------------------
    def enqueued(self, topic: str | None = None) -> list[Enqueued]:
        """Messages enqueued so far (each once, in order), optionally for one topic."""
        return [m for m in self._messages.values() if topic is None or m.topic == topic]

    def emit(self, topic: str, data: Any, message_group_id: str | None = None) -> None:
        """Enqueue as if a step had, e.g. to test a queue step on its own."""
        publish(topic, data, new_trace_id(), message_group_id, "test")

    @property
    def pending(self) -> int:
        return len(self._pending)

    def drain(self, limit: int = 10_000) -> list[Result]:
        """Deliver captured messages, and those they enqueue, until none are left."""
        results: list[Result] = []
        while self._pending:
            if len(results) >= limit:
                raise RuntimeError(f"still {len(self._pending)} message(s) after {limit} deliveries: a loop?")
            binding, envelope = self._pending.pop(0)
            # a retry comes back through the capture, and a dead letter is written, as on a worker
            results.append(Delivery(binding, envelope, "test").run())
        flush_records()
        return results

    # -- cron -----------------------------------------------------------------------------------
    def tick(self, step: str, index: int | None = None) -> Result:
        """Run a cron trigger of ``step`` now, as the scheduler would at its next tick."""
        schedules = [b for b in get_registry().schedules if b.step.name == step and index in (None, b.index)]
        if not schedules:
            raise LookupError(f"step {step!r} has no cron trigger")
        binding = schedules[0]
        envelope = build_envelope(None, None, trace_id=new_trace_id(), source=f"cron {binding.key}")
        result = Delivery(binding, envelope, "test").run()
        self.drain()
        return result
