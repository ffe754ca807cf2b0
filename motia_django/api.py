"""The public step API, re-exported as the ``motia`` package."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from .context import FlowContext, NoMatchingHandler, StepNotInvocable, UndeclaredTopic, UnknownStep
from .http.streaming import HttpStreamResponse
from .schemas import schema_to_json_schema
from .state.manager import StateManager
from .steps.config import StepConfig
from .steps.definition import (
    MultiTriggerStepBuilder,
    Step,
    StepBuilder,
    StepConfigError,
    StepDefinition,
    StepHandler,
    multi_trigger_step,
    step,
    step_wrapper,
)
from .steps.guards import (
    get_api_triggers,
    get_cron_triggers,
    get_queue_triggers,
    get_state_triggers,
    get_stream_triggers,
    is_api_step,
    is_api_trigger,
    is_cron_step,
    is_cron_trigger,
    is_queue_step,
    is_queue_trigger,
    is_state_step,
    is_state_trigger,
    is_stream_step,
    is_stream_trigger,
)
from .steps.infrastructure import Enqueue, HandlerConfig, InfrastructureConfig, QueueConfig
from .steps.io import (
    ApiRequest,
    ApiResponse,
    Headers,
    MotiaHttpArgs,
    MotiaHttpRequest,
    RequestBody,
    StateTriggerInput,
    StreamEvent,
    StreamTriggerInput,
    TriggerInfo,
)
from .steps.module_api import aenqueue, enqueue, logger, stateManager
from .steps.triggers import (
    ApiTrigger,
    CronTrigger,
    EventTrigger,
    QueryParam,
    QueueTrigger,
    StateTrigger,
    StreamTrigger,
    Trigger,
    TriggerCondition,
    api,
    cron,
    http,
    queue,
    state,
    stream,
)
from .streams.auth import StreamAuthInput, StreamAuthResult, StreamSubscription
from .streams.stream import Stream, StreamConfig

TriggerConfig = Trigger
ApiRouteMethod = str
#: Motia's names for the same things.
MotiaHttpResponse = HttpStreamResponse
#: ``ctx.enqueue``: returns at once in sync code, an awaitable in async code.
Enqueuer = Callable[[Any], Awaitable[None] | None]
#: What a handler receives: ``MotiaHttpArgs``, a message, ``StateTriggerInput``, ``StreamTriggerInput``, ``None``.
TriggerInput = Any
#: ``middleware(req, ctx, next_handler)``, sync or async.
ApiMiddleware = Callable[[MotiaHttpArgs[Any], FlowContext[Any], Callable[[], Any]], Any]

__all__ = [
    "ApiMiddleware",
    "ApiRequest",
    "ApiResponse",
    "ApiRouteMethod",
    "ApiTrigger",
    "CronTrigger",
    "Enqueue",
    "Enqueuer",
    "EventTrigger",
    "FlowContext",
    "HandlerConfig",
    "Headers",
    "InfrastructureConfig",
    "MotiaHttpArgs",
    "MotiaHttpRequest",
    "MotiaHttpResponse",
    "MultiTriggerStepBuilder",
    "NoMatchingHandler",
    "QueryParam",
    "QueueConfig",
    "QueueTrigger",
    "RequestBody",
    "StateManager",
    "StateTrigger",
    "StateTriggerInput",
    "Step",
    "StepBuilder",
    "StepConfig",
    "StepConfigError",
    "StepDefinition",
    "StepHandler",
    "StepNotInvocable",
    "Stream",
    "StreamAuthInput",
    "StreamAuthResult",
    "StreamConfig",
    "StreamEvent",
    "StreamSubscription",
    "StreamTrigger",
    "StreamTriggerInput",
    "TriggerCondition",
    "TriggerConfig",
    "TriggerInfo",
    "TriggerInput",
    "UndeclaredTopic",
    "UnknownStep",
    "aenqueue",
    "api",
    "cron",
    "enqueue",
    "get_api_triggers",
    "get_cron_triggers",
    "get_queue_triggers",
    "get_state_triggers",
    "get_stream_triggers",
    "http",
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
    "logger",
    "multi_trigger_step",
    "queue",
    "schema_to_json_schema",
    "state",
    "stateManager",
    "step",
    "step_wrapper",
    "stream",
]
