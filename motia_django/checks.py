"""Discovery problems as Django system checks (``manage.py check``, ``runserver``)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Tags, Warning, register

from .registry import get_registry


@register(Tags.urls)
def discovery_check(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    registry = get_registry()
    messages: list[CheckMessage] = [
        Error(str(error), hint=f"step {error.step!r}" if error.step else None, obj=error.file, id="motia.E001")
        for error in registry.errors
    ]
    messages += [Warning(text, id="motia.W001") for text in registry.warnings]
    return messages
