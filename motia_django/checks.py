"""Discovery problems and unsafe settings as Django system checks (``manage.py check``, ``runserver``).

A broken step file is a warning, not an error: Django refuses to run
``migrate``, ``runserver`` or any other command while a check reports an
error, and one bad file must not keep the other steps from serving.
``motia_discover --check`` is the gate that fails on it.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register
from django.db import connections

from .conf import motia_settings
from .queues import app as celery
from .queues.broker import is_redis, step_needs
from .registry import get_registry


@register(Tags.urls)
def discovery_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    registry = get_registry()
    messages: list[CheckMessage] = [
        Warning(str(error), hint=_skipped(error.step), obj=error.file, id="motia.W002")
        for error in registry.errors
    ]
    messages += [Warning(text, id="motia.W001") for text in registry.warnings]
    return messages


def _skipped(step: str | None) -> str:
    return f"step {step!r} is not served; the other steps are" if step else \
        "this file's steps are not served; the other steps are"


@register()
def delivery_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Broker and database settings under which a message could run twice or fail to be recorded."""
    messages: list[CheckMessage] = []
    if celery.is_initialised():
        app = celery.celery_app()
        prefetch = app.conf.worker_prefetch_multiplier
        if prefetch != 1:
            messages.append(Warning(
                f"worker_prefetch_multiplier is {prefetch}: a prefetched message waits behind slow ones while "
                "its visibility timeout runs, and may be handed to a second worker",
                hint="set CELERY_WORKER_PREFETCH_MULTIPLIER = 1 (or start workers with --prefetch-multiplier 1)",
                id="motia.W010"))
        visibility = (app.conf.broker_transport_options or {}).get("visibility_timeout")
        if is_redis(app) and visibility is not None:
            short = [(b, step_needs(b)) for b in get_registry().background_bindings if step_needs(b) > visibility]
            messages += [Warning(
                f"step {b.step.name!r} ({b.key}) can hold a message for {needs:.0f}s, longer than the broker's "
                f"visibility_timeout of {visibility:.0f}s: Redis would hand it to a second worker while it runs",
                hint="raise CELERY_BROKER_TRANSPORT_OPTIONS['visibility_timeout'] or the step's handler timeout "
                     "(or leave the option unset: it is derived from the steps)",
                obj=b.step.name, id="motia.W011") for b, needs in short]
    for alias in connections:
        settings_dict = connections[alias].settings_dict
        if settings_dict["ENGINE"].endswith("sqlite3") and \
                str(settings_dict.get("OPTIONS", {}).get("transaction_mode", "")).upper() != "IMMEDIATE":
            messages.append(Warning(
                f"SQLite database {alias!r} starts transactions in DEFERRED mode: two processes that read and "
                "then write (leases, outbox claims) fail with 'database is locked' instead of waiting",
                hint=f"set DATABASES[{alias!r}]['OPTIONS']['transaction_mode'] = 'IMMEDIATE'", id="motia.W012"))
    return messages


def _serializer_settings() -> dict[str, Any]:
    """The project's Celery serializer choices (``CELERY_*`` settings), by setting name."""
    names = [name for name in dir(settings) if name.startswith("CELERY_")
             and (name.endswith("SERIALIZER") or name.endswith("ACCEPT_CONTENT"))]
    return {name: getattr(settings, name) for name in names}


@register(Tags.security)
def security_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Settings that leave this app open in production (``DEBUG`` off); docs/security.md."""
    messages: list[CheckMessage] = []
    for name, value in _serializer_settings().items():
        chosen = [value] if isinstance(value, str) else list(value or ())
        if any("pickle" in str(kind).lower() for kind in chosen):
            json_only = '["json"]' if name.endswith("ACCEPT_CONTENT") else '"json"'
            messages.append(Warning(
                f"{name} allows pickle: anyone who can write to the broker can run code in the workers",
                hint=f"use JSON: {name} = {json_only}", id="motia.W020"))
    if settings.DEBUG:
        return messages
    options = motia_settings()
    if options.STREAM_DEFAULT_ACCESS:
        messages.append(Warning(
            "MOTIA['STREAM_DEFAULT_ACCESS'] is True with DEBUG off: any client may join every stream without "
            "can_access and read its items",
            hint="give each stream a can_access hook and remove STREAM_DEFAULT_ACCESS", id="motia.W021"))
    backend = str(getattr(settings, "CHANNEL_LAYERS", {}).get("default", {}).get("BACKEND", ""))
    if backend.endswith("InMemoryChannelLayer"):
        messages.append(Warning(
            "the in-memory channel layer is in use with DEBUG off: stream writes made by workers or other "
            "server processes never reach WebSocket clients, and each process holds every socket's backlog",
            hint="set CHANNEL_LAYERS to channels_redis (project: CHANNEL_LAYER_URL)", id="motia.W022"))
    if options.EXPOSE_ERRORS:
        messages.append(Warning(
            "MOTIA['EXPOSE_ERRORS'] is True with DEBUG off: 500 responses show exception text to clients",
            hint="remove EXPOSE_ERRORS (it follows DEBUG); read errors in the logs or the workbench",
            id="motia.W023"))
    return messages
