"""Type guards and getters over triggers and steps."""

from __future__ import annotations

from typing import Any

from .config import StepConfig
from .definition import StepBuilder, StepDefinition
from .triggers import ApiTrigger, CronTrigger, EventTrigger, QueueTrigger, StateTrigger, StreamTrigger

__all__ = [
    "get_api_triggers",
    "get_cron_triggers",
    "get_queue_triggers",
    "get_state_triggers",
    "get_stream_triggers",
    "is_api_step",
    "is_api_trigger",
    "is_cron_step",
    "is_cron_trigger",
    "is_queue_step",
    "is_queue_trigger",
    "is_state_step",
    "is_state_trigger",
    "is_stream_step",
    "is_stream_trigger",
]


def is_api_trigger(trigger: Any) -> bool:
    return isinstance(trigger, ApiTrigger)


def is_queue_trigger(trigger: Any) -> bool:
    return isinstance(trigger, QueueTrigger | EventTrigger)


def is_cron_trigger(trigger: Any) -> bool:
    return isinstance(trigger, CronTrigger)


def is_state_trigger(trigger: Any) -> bool:
    return isinstance(trigger, StateTrigger)


def is_stream_trigger(trigger: Any) -> bool:
    return isinstance(trigger, StreamTrigger)


def _triggers(step: StepDefinition | StepBuilder | StepConfig) -> list[Any]:
    config = step if isinstance(step, StepConfig) else step.config
    return list(config.triggers)


def get_api_triggers(step: StepDefinition | StepBuilder | StepConfig) -> list[ApiTrigger]:
    return [t for t in _triggers(step) if is_api_trigger(t)]


def get_queue_triggers(step: StepDefinition | StepBuilder | StepConfig) -> list[QueueTrigger | EventTrigger]:
    return [t for t in _triggers(step) if is_queue_trigger(t)]


def get_cron_triggers(step: StepDefinition | StepBuilder | StepConfig) -> list[CronTrigger]:
    return [t for t in _triggers(step) if is_cron_trigger(t)]


def get_state_triggers(step: StepDefinition | StepBuilder | StepConfig) -> list[StateTrigger]:
    return [t for t in _triggers(step) if is_state_trigger(t)]


def get_stream_triggers(step: StepDefinition | StepBuilder | StepConfig) -> list[StreamTrigger]:
    return [t for t in _triggers(step) if is_stream_trigger(t)]


def is_api_step(step: StepDefinition | StepBuilder | StepConfig) -> bool:
    return bool(get_api_triggers(step))


def is_queue_step(step: StepDefinition | StepBuilder | StepConfig) -> bool:
    return bool(get_queue_triggers(step))


def is_cron_step(step: StepDefinition | StepBuilder | StepConfig) -> bool:
    return bool(get_cron_triggers(step))


def is_state_step(step: StepDefinition | StepBuilder | StepConfig) -> bool:
    return bool(get_state_triggers(step))


def is_stream_step(step: StepDefinition | StepBuilder | StepConfig) -> bool:
    return bool(get_stream_triggers(step))
