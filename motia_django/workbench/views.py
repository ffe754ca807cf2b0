"""Workbench pages shared by every section: the overview, and what each page's template needs."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import site
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from ..registry import get_registry
from .queues import queues
from .traces import trace_detail, trace_list

__all__ = ["home", "page", "queues", "trace_detail", "trace_list"]

#: The workbench sections in menu order: URL name and label; those not mounted are left out.
SECTIONS = (("home", "Overview"), ("flows", "Flows"), ("traces", "Traces"), ("endpoints", "Endpoints"),
            ("queues", "Queues"))


def links() -> list[dict[str, str]]:
    found = []
    for name, label in SECTIONS:
        try:
            found.append({"name": name, "label": label, "url": reverse(f"motia:{name}")})
        except NoReverseMatch:
            continue
    return found


def page(request: HttpRequest, template: str, current: str, title: str, context: dict[str, Any]) -> HttpResponse:
    """Render a workbench page inside the admin's chrome."""
    return render(request, template, {
        **site.each_context(request), "title": title, "current": current, "workbench_links": links(), **context,
    })


@staff_member_required
def home(request: HttpRequest) -> HttpResponse:
    registry = get_registry()
    return page(request, "motia_django/workbench/home.html", "home", "Overview", {
        "steps": len(registry.steps), "routes": len(registry.routes), "topics": len(registry.topics),
        "schedules": len(registry.schedules), "errors": [str(e) for e in registry.errors],
        "warnings": registry.warnings,
    })
