"""The registry: every discovered step, indexed by what triggers it.

Built once per process from ``MOTIA["STEPS_DIRS"]``.  Discovery never raises:
problems are collected as errors (they fail ``motia_discover --check`` and
``manage.py check``) and warnings, and the valid steps still run.
"""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..node.bridge import NodeUnavailable
from ..steps.definition import StepDefinition
from ..steps.io import TriggerInfo
from ..steps.triggers import (
    ApiTrigger,
    CronTrigger,
    EventTrigger,
    QueueTrigger,
    StateTrigger,
    StreamTrigger,
    Trigger,
)
from .loader import (
    STREAM_FILE_SUFFIXES,
    DiscoveryError,
    StepFileError,
    find_step_files,
    load_step_file,
    load_stream_file,
)

__all__ = ["Binding", "Registry", "get_registry", "reload_registry", "step_named_by"]


#: ``step#index`` or ``step#index:topic``: how earlier releases named a trigger
_POSITIONAL_KEY = re.compile(r"^(?P<step>.+)#(?P<index>\d+)(?::(?P<topic>.+))?$")
#: the step of a key: what comes before the first ``#`` that starts the trigger's part
_KEY_STEP = re.compile(r"^(?P<step>.+?)#(?:\d|http:|queue:|cron|state|stream:)")


def step_named_by(key: str) -> str:
    """The step a binding key names, whether or not this process knows it."""
    match = _KEY_STEP.match(key)
    return match["step"] if match else key


@dataclass(frozen=True, eq=False)
class Binding:
    """One trigger of one step: what an HTTP route, a queue subscription or a schedule runs.

    A queue trigger subscribed to several topics gives one binding per topic.
    """

    step: StepDefinition
    trigger: Trigger
    index: int
    topic: str | None = None
    #: 2 for the second trigger of its step with the same identity, and so on
    ordinal: int = 1

    @functools.cached_property
    def identity(self) -> str:
        """The step and what its trigger listens to: ``Step#queue:<topic>``, ``Step#http:<METHOD> <path>``, ..."""
        t = self.trigger
        if isinstance(t, ApiTrigger):
            what = f"http:{t.method} {t.path}"
        elif isinstance(t, CronTrigger):
            what = "cron"  # a changed expression is the same trigger on a new schedule
        elif isinstance(t, StreamTrigger):
            what = f"stream:{t.stream_name}"
        elif isinstance(t, StateTrigger):
            what = "state"
        else:
            what = f"queue:{self.topic}"
        return f"{self.step.name}#{what}"

    @functools.cached_property
    def key(self) -> str:
        """The id messages, FIFO rows, cron ticks and dead letters carry, the same in every process.

        Built from :attr:`identity`, never from the trigger's position, so a release that adds or
        reorders a step's triggers leaves the others' keys (and the messages in flight) alone.
        """
        return self.identity if self.ordinal == 1 else f"{self.identity}~{self.ordinal}"

    def trigger_info(self) -> TriggerInfo:
        """What ``ctx.trigger`` shows (one read-only instance per binding)."""
        return self._trigger_info

    @functools.cached_property
    def _trigger_info(self) -> TriggerInfo:
        t = self.trigger
        return TriggerInfo(
            type=t.kind,
            index=self.index,
            path=t.path if isinstance(t, ApiTrigger) else None,
            method=t.method if isinstance(t, ApiTrigger) else None,
            topic=self.topic,
            expression=t.expression if isinstance(t, CronTrigger) else None,
            stream_name=t.stream_name if isinstance(t, StreamTrigger) else None,
        )


class Registry:
    def __init__(self, steps: list[StepDefinition], errors: list[DiscoveryError] | None = None) -> None:
        self.errors: list[DiscoveryError] = list(errors or [])
        self.warnings: list[str] = []
        self.steps: dict[str, StepDefinition] = {}
        for definition in steps:
            existing = self.steps.get(definition.name)
            if existing is not None:
                self.errors.append(
                    DiscoveryError(
                        definition.file_path or "?",
                        None,
                        f"duplicate step name {definition.name!r} (also defined in {existing.file_path})",
                        definition.name,
                    )
                )
                continue
            self.steps[definition.name] = definition
        self.routes: list[Binding] = []
        self.subscriptions: list[Binding] = []
        self.schedules: list[Binding] = []
        self.state_watchers: list[Binding] = []
        self.stream_watchers: list[Binding] = []
        self._index()
        self._by_key = {b.key: b for b in (*self.routes, *self.background_bindings)}
        self._check_topics()

    @classmethod
    def discover(cls, directories: list[Path]) -> Registry:
        steps: list[StepDefinition] = []
        errors: list[DiscoveryError] = []
        without_node: list[Path] = []  # TypeScript/JavaScript files, while Node cannot run
        for path in find_step_files(directories, STREAM_FILE_SUFFIXES):  # before the steps that use them
            try:
                load_stream_file(path)
            except StepFileError as exc:
                errors.append(exc.error)
            except NodeUnavailable as exc:
                without_node.append(path)
                reason = str(exc)
            except Exception as exc:  # whatever one file does, the others still load
                errors.append(_unexpected(path, exc))
        for path in find_step_files(directories):
            try:
                steps.extend(load_step_file(path))
            except StepFileError as exc:
                errors.append(exc.error)
            except NodeUnavailable as exc:
                without_node.append(path)
                reason = str(exc)
            except Exception as exc:
                errors.append(_unexpected(path, exc))
        if without_node:
            errors.append(_node_unavailable(without_node, reason))
        return cls(steps, errors)

    def _index(self) -> None:
        seen_routes: dict[tuple[str, str], Binding] = {}
        for definition in self.steps.values():
            seen: dict[str, int] = {}  # identity -> bindings of this step with it so far

            def bind(trigger: Trigger, index: int, topic: str | None = None, *, step: StepDefinition = definition,
                     seen: dict[str, int] = seen) -> Binding:
                identity = Binding(step, trigger, index, topic).identity
                seen[identity] = seen.get(identity, 0) + 1
                return Binding(step, trigger, index, topic, seen[identity])

            for index, trigger in enumerate(definition.config.triggers):
                if isinstance(trigger, ApiTrigger):
                    binding = bind(trigger, index)
                    clash = seen_routes.get((trigger.method, trigger.route_shape))
                    if clash is not None:
                        self.errors.append(
                            DiscoveryError(
                                definition.file_path or "?",
                                None,
                                f"{trigger.method} {trigger.path} of step {definition.name!r} is already served by "
                                f"step {clash.step.name!r} ({clash.trigger.path})",  # type: ignore[union-attr]
                                definition.name,
                            )
                        )
                        continue
                    seen_routes[(trigger.method, trigger.route_shape)] = binding
                    self.routes.append(binding)
                elif isinstance(trigger, QueueTrigger | EventTrigger):
                    self.subscriptions.extend(bind(trigger, index, topic) for topic in trigger.topics)
                elif isinstance(trigger, CronTrigger):
                    self.schedules.append(bind(trigger, index))
                elif isinstance(trigger, StateTrigger):
                    self.state_watchers.append(bind(trigger, index))
                elif isinstance(trigger, StreamTrigger):
                    self.stream_watchers.append(bind(trigger, index))

    def _check_topics(self) -> None:
        enqueued = {t for s in self.steps.values() for t in s.config.enqueue_topics}
        virtual_out = {t for s in self.steps.values() for t in s.config.virtual_enqueue_topics}
        virtual_in = {t for s in self.steps.values() for t in s.config.virtual_subscribes}
        subscribed = {b.topic for b in self.subscriptions}
        for topic in sorted(enqueued - subscribed - virtual_in):
            steps = ", ".join(sorted(s.name for s in self.steps.values() if topic in s.config.enqueue_topics))
            self.warnings.append(f"topic {topic!r} is enqueued by {steps} but no step subscribes to it")
        for topic in sorted(t for t in subscribed - enqueued - virtual_out if t):
            steps = ", ".join(sorted({b.step.name for b in self.subscriptions if b.topic == topic}))
            self.warnings.append(f"topic {topic!r} is subscribed by {steps} but no step enqueues to it")

    # -- lookups ---------------------------------------------------------------------------
    def subscribers(self, topic: str) -> list[Binding]:
        """The subscriptions of ``topic`` (do not change the list: it is shared)."""
        return self._by_topic.get(topic, [])

    @functools.cached_property
    def _by_topic(self) -> dict[str, list[Binding]]:
        found: dict[str, list[Binding]] = {}
        for binding in self.subscriptions:
            if binding.topic:
                found.setdefault(binding.topic, []).append(binding)
        return found

    @functools.cached_property
    def known_topics(self) -> frozenset[str]:
        """Topics some step subscribes to or declares it enqueues to (virtual ones included)."""
        declared = {
            t for s in self.steps.values() for t in (*s.config.enqueue_topics, *s.config.virtual_enqueue_topics)
        }
        return frozenset(declared | {b.topic for b in self.subscriptions if b.topic})

    @property
    def topics(self) -> list[str]:
        return sorted({b.topic for b in self.subscriptions if b.topic})

    def binding(self, key: str) -> Binding | None:
        """The binding a message names, or ``None`` when this process does not know it (another release's)."""
        found = self._by_key.get(key)
        if found is None and (positional := _POSITIONAL_KEY.match(key)):
            found = self._positional(positional["step"], int(positional["index"]), positional["topic"])
        return found

    def _positional(self, step: str, index: int, topic: str | None) -> Binding | None:
        """A key from an earlier release: its topic names the subscription; without one, its index the trigger."""
        for b in self.background_bindings:
            if b.step.name == step and (b.topic == topic if topic else b.index == index and b.topic is None):
                return b
        return None

    @property
    def background_bindings(self) -> list[Binding]:
        """Bindings run by workers: subscriptions, schedules, state and stream watchers."""
        return [*self.subscriptions, *self.schedules, *self.state_watchers, *self.stream_watchers]

    def as_json(self) -> dict[str, Any]:
        return {
            "steps": [_step_json(s) for s in self.steps.values()],
            "errors": [{"file": e.file, "line": e.line, "step": e.step, "message": e.message} for e in self.errors],
            "warnings": list(self.warnings),
        }


def _node_unavailable(paths: list[Path], reason: str) -> DiscoveryError:
    """One error for every TypeScript and JavaScript file Node's absence kept from loading."""
    names = ", ".join(p.name for p in paths)
    return DiscoveryError(str(paths[0]), None, f"{reason}. Not loaded: {len(paths)} TypeScript/JavaScript "
                                                f"file(s) ({names}); the Python steps serve")


def _unexpected(path: Path, exc: Exception) -> DiscoveryError:
    """A file the loader could not judge (an error raised while its steps were collected)."""
    return DiscoveryError(str(path), None, f"{type(exc).__name__}: {exc}")


def _trigger_json(trigger: Trigger) -> dict[str, Any]:
    data: dict[str, Any] = {"type": str(trigger.kind)}
    if isinstance(trigger, ApiTrigger):
        data.update(method=trigger.method, path=trigger.path)
    elif isinstance(trigger, QueueTrigger | EventTrigger):
        data.update(topics=trigger.topics)
    elif isinstance(trigger, CronTrigger):
        data.update(expression=trigger.expression)
    elif isinstance(trigger, StreamTrigger):
        data.update(stream=trigger.stream_name, groupId=trigger.group_id, itemId=trigger.item_id)
    if trigger.condition is not None:
        data["conditional"] = True
    return data


def _step_json(step: StepDefinition) -> dict[str, Any]:
    config = step.config
    return {
        "name": step.name,
        "file": step.file_path,
        "description": config.description,
        "triggers": [_trigger_json(t) for t in config.triggers],
        "enqueues": [e.model_dump(exclude_defaults=True) for e in config.enqueues],
        "virtualEnqueues": config.virtual_enqueue_topics,
        "virtualSubscribes": config.virtual_subscribes,
        "flows": config.flows,
    }


_registry: Registry | None = None
_lock = threading.Lock()


def get_registry() -> Registry:
    """The process-wide registry, discovered on first use."""
    global _registry
    if _registry is None:
        with _lock:
            if _registry is None:
                _registry = _discover()
    return _registry


def reload_registry() -> Registry:
    """Discover again (after step files changed, or in tests with other settings)."""
    global _registry
    with _lock:
        _registry = _discover()
    return _registry


def _discover() -> Registry:
    from ..conf import motia_settings
    from ..streams.declarations import declare_from_settings

    settings = motia_settings()
    try:
        declare_from_settings(settings.STREAMS)
        error = None
    except (ImportError, TypeError, ValueError) as exc:
        error = DiscoveryError("settings.MOTIA['STREAMS']", None, f"{type(exc).__name__}: {exc}")
    registry = Registry.discover(settings.steps_paths)
    if error is not None:
        registry.errors.insert(0, error)
    return registry
