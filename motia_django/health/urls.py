"""The health and metrics endpoints, mounted by ``motia_django.urls`` before the step routes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import URLPattern, path

from ..conf import motia_settings
from ..metrics.views import metrics_view
from .views import liveness, readiness

__all__ = ["urlpatterns"]


def _patterns() -> list[URLPattern]:
    options = motia_settings()
    mounted: list[tuple[str | None, Callable[..., Any], str]] = [
        (options.HEALTH_LIVENESS_PATH, liveness, "motia-healthz"),
        (options.HEALTH_READINESS_PATH, readiness, "motia-readyz"),
        (options.METRICS_PATH, metrics_view, "motia-metrics"),
    ]
    return [path(route.strip("/"), view, name=name) for route, view, name in mounted if route]


urlpatterns: list[URLPattern] = _patterns()
