"""Typed access to the ``MOTIA`` settings dict, with documented defaults.

Every key is optional; ``docs/settings.md`` lists them.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.dispatch import receiver

__all__ = ["MotiaSettings", "motia_settings"]


@dataclass(frozen=True)
class MotiaSettings:
    #: Folders scanned recursively for ``*_step.py`` and ``*.step.py`` files (and TypeScript or
    #: JavaScript ``*.step.ts``/``*_step.ts``/``.js`` ones).  Relative paths are resolved against ``BASE_DIR``.
    STEPS_DIRS: tuple[str, ...] = ("steps",)
    #: The Node.js executable that runs TypeScript and JavaScript steps (started only when there are some).
    NODE_BINARY: str = "node"
    #: Dotted paths of step middleware ``(req, ctx, next_handler)`` run before
    #: every HTTP step's own middleware.
    MIDDLEWARE: tuple[str, ...] = ()
    #: ``"plain"`` or ``"json"``: how ``ctx.logger`` records print without a ``LOGGING`` handler, and in a worker's log.
    LOG_FORMAT: str = "plain"
    #: Status returned when an HTTP trigger's ``condition`` is false (422, as Motia's engine answers).
    HTTP_CONDITION_FAILED_STATUS: int = 422
    #: The ``.env`` file loaded at start-up (real environment variables win); relative to
    #: ``BASE_DIR``.  ``None`` loads none.
    ENV_FILE: str | None = ".env"
    #: Answer unknown paths below the mounted URLs with a JSON 404.
    JSON_NOT_FOUND: bool = True
    #: Raise instead of logging when a handler's response breaks its
    #: ``response_schema`` (meant for test settings).
    STRICT_RESPONSE_SCHEMA: bool = False
    #: Chunks a streamed HTTP response (``input.response`` under ASGI) queues for a
    #: client slower than its handler; while that many wait, the handler's writes wait too.
    HTTP_STREAM_BUFFER: int = 16
    #: Include the exception text in 500 responses (defaults to ``DEBUG``).
    EXPOSE_ERRORS: bool | None = None
    #: Largest JSON payload, in bytes, accepted by ``ctx.enqueue``.
    MAX_MESSAGE_BYTES: int = 256 * 1024
    #: Prefix of the Celery queue that carries a topic (``<prefix><topic>``).
    QUEUE_PREFIX: str = "motia."
    #: Seconds a message may stay unacknowledged (and a FIFO or concurrency lease
    #: held) before it is handed to another worker, unless a subscription sets
    #: ``visibility_timeout``.
    VISIBILITY_TIMEOUT: float = 30.0
    #: Seconds a delivery keeps retrying a database write that failed for want of
    #: a connection (a failover) before it hands its message back to the broker.
    OUTAGE_PATIENCE: float = 30.0
    #: Seconds a worker holds back a message for a step trigger it does not know (another
    #: release's, during a rolling deploy) so a worker that knows it can take it; after that
    #: the message is a dead letter (``UnknownStep``), replayable once the step exists.
    UNKNOWN_STEP_GRACE: float = 600.0
    #: Record every HTTP execution and keep ``ctx.logger`` records per execution.
    TRACING: bool = True
    #: Longest chain of state/stream triggers started by one write (a handler that
    #: writes what it watches would otherwise loop forever).
    MAX_TRIGGER_DEPTH: int = 10
    #: Days execution and log records are kept (the worker's sweep deletes older ones).
    RETENTION_DAYS: float = 7.0
    #: Seconds between the worker's sweeps of the outbox and of stalled FIFO groups.
    RELAY_INTERVAL: float = 1.0
    #: Streams declared in settings: a list of names or ``{"name", "schema"?, "can_access"?}``
    #: dicts, or a dict of name -> options.  ``schema`` may be a JSON Schema dict or the
    #: dotted path of a pydantic model, ``can_access`` the dotted path of a function.
    STREAMS: Any = ()
    #: Dotted path of ``authenticate(request) -> auth context | None`` (sync or async) run
    #: for every stream WebSocket connection; raising refuses the connection.
    STREAM_AUTHENTICATE: str | None = None
    #: Whether a join to a stream without ``can_access`` is allowed.  ``None``: allowed only
    #: in development (``DEBUG`` on and no ``STREAM_AUTHENTICATE``), denied otherwise;
    #: ``True`` opens such streams to every client, in production too (docs/security.md).
    STREAM_DEFAULT_ACCESS: bool | None = None
    #: Items a join's ``sync`` may carry; a larger group is refused with a ``group_too_large``
    #: error frame (subscribe to its items, or read the group over HTTP).
    STREAM_SYNC_MAX_ITEMS: int = 1000
    #: Largest JSON value, in bytes, one state entry or stream item may hold; a bigger
    #: write raises ``ValueTooLarge`` and writes nothing.
    MAX_VALUE_BYTES: int = 1024 * 1024
    #: Take a client's ``X-Trace-Id`` header as the trace id (only behind a gateway that
    #: sets it itself); otherwise only a valid W3C ``traceparent`` continues a trace.
    TRUST_TRACE_HEADER: bool = False
    #: Run ``REST_FRAMEWORK``'s default authentication, permission and throttle classes on every HTTP
    #: step that names none of its own; off, such steps stay open, as before (``docs/security.md``).
    HTTP_DRF_DEFAULTS: bool = False
    #: Path of the stream WebSocket endpoint (Motia clients connect to the server root).
    STREAM_WEBSOCKET_PATH: str = "/"
    #: Frames queued for one WebSocket before a client too slow to read them is
    #: disconnected (close code 1013); it reconnects and resyncs.
    STREAM_CLIENT_BUFFER: int = 1000
    #: Subscriptions one WebSocket may hold at once; a join beyond it gets a
    #: ``too_many_subscriptions`` error frame (the connection stays open).
    STREAM_MAX_SUBSCRIPTIONS: int = 100
    #: Seconds, on average, between a WebSocket's checks of its subscriptions against
    #: the database: one that missed a change (its frame was lost) gets a fresh
    #: ``sync``.  0 turns the checks off.
    STREAM_RESYNC_INTERVAL: float = 30.0
    #: With ``DEBUG`` on, sign a browser on this machine (loopback address and host, no proxy) into the
    #: workbench as the staff user ``motia-dev``, so no superuser has to be created first.
    DEV_LOGIN: bool = True
    #: Serve the workbench's OpenAPI document (``openapi.json``) to anyone, not only to staff.
    OPENAPI_PUBLIC: bool = False
    #: Dotted paths of the DRF permission classes of the operator REST API
    #: (``motia_django.rest.urls``); all must allow a request.
    REST_PERMISSION_CLASSES: tuple[str, ...] = (
        "rest_framework.permissions.IsAdminUser", "motia_django.rest.permissions.ModelPermissions",
    )
    #: Path of the liveness endpoint (no I/O; ``None`` serves none), below where ``motia_django.urls`` is included.
    HEALTH_LIVENESS_PATH: str | None = "healthz"
    #: Path of the readiness endpoint (database and broker reachable; ``None`` serves none).
    HEALTH_READINESS_PATH: str | None = "readyz"
    #: Seconds the readiness endpoint waits for each of its checks before it counts as failed.
    HEALTH_TIMEOUT: float = 2.0
    #: Count executions, retries, dead letters, HTTP statuses, cron lateness (``docs/operations.md``).
    METRICS: bool = True
    #: Path of the Prometheus endpoint (``None`` serves none; the counters are still kept when ``METRICS``).
    METRICS_PATH: str | None = "metrics"
    #: Addresses or networks (``REMOTE_ADDR``) allowed to scrape the Prometheus endpoint.
    METRICS_ALLOWED_IPS: tuple[str, ...] = ("127.0.0.1", "::1")
    #: A bearer token that lets any address scrape (``Authorization: Bearer <token>``).
    METRICS_TOKEN: str | None = None
    #: Seconds a scrape waits for the broker and database figures (queue depth, outbox) before leaving them out.
    METRICS_SCRAPE_TIMEOUT: float = 1.0

    @property
    def steps_paths(self) -> list[Path]:
        base = Path(getattr(settings, "BASE_DIR", Path.cwd()))
        return [p if p.is_absolute() else base / p for p in map(Path, self.STEPS_DIRS)]

    @property
    def env_path(self) -> Path | None:
        if self.ENV_FILE is None:
            return None
        path = Path(self.ENV_FILE)
        return path if path.is_absolute() else Path(getattr(settings, "BASE_DIR", Path.cwd())) / path

    @property
    def stream_default_access(self) -> bool:
        """Open by default only on a development server, where no one else connects."""
        if self.STREAM_DEFAULT_ACCESS is not None:
            return self.STREAM_DEFAULT_ACCESS
        return bool(settings.DEBUG) and self.STREAM_AUTHENTICATE is None

    @property
    def expose_errors(self) -> bool:
        return bool(settings.DEBUG) if self.EXPOSE_ERRORS is None else self.EXPOSE_ERRORS


_KNOWN = {f.name for f in fields(MotiaSettings)}


_cached: MotiaSettings | None = None


@receiver(setting_changed)
def _forget(setting: str, **kwargs: Any) -> None:
    global _cached
    if setting == "MOTIA":
        _cached = None


def motia_settings() -> MotiaSettings:
    """The project's ``MOTIA`` dict merged over the defaults (parsed once, again after ``override_settings``)."""
    global _cached
    if _cached is None:
        _cached = _parse()
    return _cached


def _parse() -> MotiaSettings:
    raw: dict[str, Any] = dict(getattr(settings, "MOTIA", {}) or {})
    unknown = sorted(set(raw) - _KNOWN)
    if unknown:
        raise ImproperlyConfigured(f"Unknown MOTIA setting(s): {', '.join(unknown)}")
    for key in ("STEPS_DIRS", "MIDDLEWARE", "REST_PERMISSION_CLASSES", "METRICS_ALLOWED_IPS"):
        if key in raw:
            value = raw[key]
            raw[key] = (value,) if isinstance(value, str) else tuple(value)
    return MotiaSettings(**raw)
