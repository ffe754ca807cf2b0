"""What every workbench page shares: the section menu, and rendering inside the admin's chrome."""

from __future__ import annotations

from typing import Any

from django.contrib.admin import site
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

__all__ = ["SECTIONS", "links", "page"]

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
