"""Shared config models: enqueue targets and the infrastructure block."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

__all__ = ["ConfigModel", "Enqueue", "HandlerConfig", "InfrastructureConfig", "QueueConfig"]


class ConfigModel(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        arbitrary_types_allowed=True,
        extra="forbid",
        frozen=True,
    )


class Enqueue(ConfigModel):
    """A topic a step may enqueue to, with an optional label for the flow graph."""

    topic: str = Field(min_length=1)
    label: str | None = None
    conditional: bool = False

    def __init__(
        self, topic: str | None = None, label: str | None = None, conditional: bool = False, **kw: Any
    ) -> None:
        if topic is not None:
            kw["topic"] = topic
        kw.update(label=label, conditional=conditional)
        super().__init__(**kw)

    @model_validator(mode="before")
    @classmethod
    def _from_topic(cls, value: Any) -> Any:
        return {"topic": value} if isinstance(value, str) else value


class HandlerConfig(ConfigModel):
    """Resources of one handler run; ``timeout`` (seconds) bounds background executions."""

    ram: int = Field(default=128, gt=0)
    cpu: int | None = Field(default=None, gt=0)
    timeout: float | None = Field(default=30, gt=0)


class QueueConfig(ConfigModel):
    """Delivery policy of one queue subscription."""

    type: Literal["standard", "fifo"] = "standard"
    max_retries: int = Field(default=3, ge=0)
    visibility_timeout: int | None = Field(default=None, gt=0)
    delay_seconds: float = Field(default=0, ge=0)
    concurrency: int | None = Field(default=None, gt=0)
    backoff_type: Literal["fixed", "exponential"] = "exponential"
    backoff_delay_ms: int = Field(default=1000, ge=0)


class InfrastructureConfig(ConfigModel):
    handler: HandlerConfig | None = None
    queue: QueueConfig | None = None
