"""Helpers for the spec conformance tests: load one example folder and drive its triggers.

Each example under ``tests/spec_steps`` is discovered on its own and exercised
through the same code paths production uses:

* HTTP triggers go through :func:`motia_django.http.views.async_step_view` with a
  request from :class:`django.test.AsyncRequestFactory`;
* queue messages, cron ticks and state changes get a
  :class:`~motia_django.context.FlowContext` built from the registry's binding;
  the trigger's input schema and condition are checked as a worker would, then
  the handler runs through :mod:`motia_django.execution`.

``ctx.enqueue`` publishes through :mod:`motia_django.queues.publisher`; the tests
replace its hand-off to the broker (``dispatch``) with :meth:`Outbox.dispatch`
so every message a step sends can be inspected, and delivered on demand.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from django.test import AsyncRequestFactory

from motia_django.context import FlowContext
from motia_django.http.routing import RouteTable
from motia_django.http.views import async_step_view
from motia_django.queues.delivery import execute
from motia_django.registry import Binding, Registry
from motia_django.steps.definition import StepDefinition
from motia_django.steps.triggers import queue

__all__ = [
    "RECORDER",
    "SPEC_STEPS",
    "HttpResult",
    "Outbox",
    "SpecApp",
    "load_example",
    "recorder_step",
    "run_binding",
]

SPEC_STEPS = Path(__file__).resolve().parent / "spec_steps"

#: Name of the subscriber added for topics no example step consumes.
RECORDER = "spec-recorder"


async def _ignore(data: Any, ctx: FlowContext[Any]) -> None:
    return None


def new_trace_id() -> str:
    return str(uuid.uuid4())


def run_binding(binding: Binding, input_value: Any, trace_id: str) -> tuple[Any, FlowContext[Any]]:
    """Run one trigger of a step as a worker does (input schema, condition, handler).

    Returns the handler's result (``None`` when the condition skipped it) and the context.
    """
    _, result, ctx = execute(binding, input_value, trace_id)
    return result, ctx


def recorder_step(topics: Iterable[str]) -> StepDefinition:
    """A do-nothing subscriber, so messages to otherwise unconsumed topics are sent (and seen)."""
    return StepDefinition({"name": RECORDER, "triggers": [queue(t) for t in topics]}, _ignore)


def load_example(name: str, *, record: Iterable[str] = ()) -> Registry:
    """Discover ``tests/spec_steps/<name>``; fails on any discovery error.

    ``record`` lists topics to give a recording subscriber: a message to a topic
    nobody subscribes to is (correctly) sent nowhere, so there would be nothing
    to look at.
    """
    folder = SPEC_STEPS / name
    assert folder.is_dir(), f"no example folder {folder}"
    registry = Registry.discover([folder])
    assert registry.errors == [], f"discovery of {name} failed: {[str(e) for e in registry.errors]}"
    assert registry.steps, f"{name} defines no step"
    topics = list(record)
    if topics:
        registry = Registry([*registry.steps.values(), recorder_step(topics)])
        assert registry.errors == [], [str(e) for e in registry.errors]
    return registry


@dataclass
class HttpResult:
    """What a client got back: status, headers, the whole body and the chunks as they came."""

    status: int
    headers: dict[str, str]
    body: bytes
    chunks: list[tuple[float, bytes]] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def trace_id(self) -> str:
        return self.headers["X-Trace-Id"]


@dataclass
class Sent:
    binding: Binding
    envelope: dict[str, Any]


class Outbox:
    """Stands in for the publisher's hand-off to the broker: one entry per (message, subscriber)."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self._delivered = 0

    def dispatch(self, bindings: Sequence[Binding], envelope: dict[str, Any], *, delay: float | None = None) -> None:
        """Same signature as ``motia_django.queues.outbox.dispatch``."""
        self.sent.extend(Sent(binding, envelope) for binding in bindings)

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Each published message once, in publishing order."""
        seen: dict[str, dict[str, Any]] = {}
        for item in self.sent:
            seen.setdefault(item.envelope["id"], item.envelope)
        return list(seen.values())

    def topic(self, name: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m["topic"] == name]

    def deliver_pending(self) -> int:
        """Deliver everything sent so far (and whatever that sends) to the example's own subscribers."""
        count = 0
        while self._delivered < len(self.sent):
            item = self.sent[self._delivered]
            self._delivered += 1
            if item.binding.step.name == RECORDER:
                continue
            run_binding(item.binding, item.envelope["data"], item.envelope["traceId"])
            count += 1
        return count


class SpecApp:
    """One example's registry, installed as the process registry, with ways to trigger its steps."""

    def __init__(self, registry: Registry, outbox: Outbox) -> None:
        self.registry = registry
        self.outbox = outbox
        self.table = RouteTable(registry.routes)

    # -- HTTP ----------------------------------------------------------------------------
    def http(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> HttpResult:
        return async_to_sync(self._http)(method, path, body, headers or {}, content_type)

    async def _http(
        self, method: str, path: str, body: Any, headers: dict[str, str], content_type: str
    ) -> HttpResult:
        if body is None:
            data: bytes | str = b""
        elif isinstance(body, bytes | str):
            data = body
        else:
            data = json.dumps(body)
        request = AsyncRequestFactory().generic(method, path, data=data, content_type=content_type, headers=headers)
        found = self.table.lookup(request.path_info.lstrip("/"), method)
        assert found is not None, f"no route serves {method} {path}"
        routes, groups = found
        start = time.monotonic()
        response = await async_step_view(request, *groups, routes=routes, table=self.table)
        chunks: list[tuple[float, bytes]] = []
        if response.streaming:
            async for chunk in response.streaming_content:  # type: ignore[union-attr]
                chunks.append((time.monotonic() - start, bytes(chunk)))
        else:
            chunks.append((time.monotonic() - start, response.content))
        return HttpResult(
            status=response.status_code,
            headers=dict(response.items()),
            body=b"".join(c for _, c in chunks),
            chunks=chunks,
        )

    # -- queue -----------------------------------------------------------------------------
    def deliver(self, topic: str, data: Any, *, trace_id: str | None = None) -> str:
        """Deliver one message to every subscriber of ``topic``; returns its trace id."""
        bindings = [b for b in self.registry.subscribers(topic) if b.step.name != RECORDER]
        assert bindings, f"no step subscribes to {topic!r}"
        trace = trace_id or new_trace_id()
        for binding in bindings:
            run_binding(binding, json.loads(json.dumps(data)), trace)
        return trace

    # -- cron, state and any other binding -------------------------------------------------
    def binding(self, step_name: str, kind: str) -> Binding:
        pools = {
            "http": self.registry.routes,
            "queue": self.registry.subscriptions,
            "cron": self.registry.schedules,
            "state": self.registry.state_watchers,
            "stream": self.registry.stream_watchers,
        }
        found = [b for b in pools[kind] if b.step.name == step_name]
        assert found, f"step {step_name!r} has no {kind} trigger"
        return found[0]

    def run(self, binding: Binding, input_value: Any, *, trace_id: str | None = None) -> tuple[Any, FlowContext[Any]]:
        return run_binding(binding, input_value, trace_id or new_trace_id())

    def tick(self, step_name: str) -> tuple[Any, FlowContext[Any]]:
        """One cron tick: cron handlers get ``None`` as input."""
        return self.run(self.binding(step_name, "cron"), None)

    def state_change(self, step_name: str, state_input: Any) -> tuple[Any, FlowContext[Any]]:
        return self.run(self.binding(step_name, "state"), state_input)
