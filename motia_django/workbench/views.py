"""The workbench overview page."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse

from ..registry import get_registry
from .pages import page

__all__ = ["home"]


@staff_member_required
def home(request: HttpRequest) -> HttpResponse:
    registry = get_registry()
    return page(request, "motia_django/workbench/home.html", "home", "Overview", {
        "steps": len(registry.steps), "routes": len(registry.routes), "topics": len(registry.topics),
        "schedules": len(registry.schedules), "errors": [str(e) for e in registry.errors],
        "warnings": registry.warnings,
    })
