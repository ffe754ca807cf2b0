"""Step configuration: the ``config`` half of a step file.

Accepts a dict or :class:`StepConfig`, with snake_case or camelCase keys, and
validates it with pydantic so an error names the field that is wrong.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator, model_validator

from .infrastructure import ConfigModel, Enqueue, InfrastructureConfig
from .triggers import Trigger

__all__ = ["StepConfig"]


def _topics(values: list[Enqueue]) -> list[str]:
    return [e.topic for e in values]


class StepConfig(ConfigModel):
    """Everything about a step except its handler."""

    name: str = Field(min_length=1)
    description: str | None = None
    triggers: list[Trigger] = Field(min_length=1)
    enqueues: list[Enqueue] = Field(default_factory=list)
    flows: list[str] = Field(default_factory=list)
    infrastructure: InfrastructureConfig | None = None
    virtual_enqueues: list[Enqueue] = Field(default_factory=list)
    virtual_subscribes: list[str] = Field(default_factory=list)
    include_files: list[str] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _emits_is_enqueues(cls, value: Any) -> Any:
        """``emits`` is the older name of ``enqueues``; both lists are merged."""
        if isinstance(value, dict) and "emits" in value:
            value = dict(value)
            emits = value.pop("emits") or []
            value["enqueues"] = [*(value.get("enqueues") or []), *emits]
        return value

    @field_validator("name")
    @classmethod
    def _strip_name(cls, value: str) -> str:
        if value != value.strip():
            raise ValueError("step name must not start or end with whitespace")
        return value

    @field_validator("enqueues", "virtual_enqueues", "flows", "virtual_subscribes", "include_files", mode="before")
    @classmethod
    def _none_is_empty(cls, value: Any) -> Any:
        return [] if value is None else value

    @property
    def enqueue_topics(self) -> list[str]:
        return _topics(self.enqueues)

    @property
    def virtual_enqueue_topics(self) -> list[str]:
        return _topics(self.virtual_enqueues)

    @property
    def emits(self) -> list[str]:
        return self.enqueue_topics
