"""What every workbench page shares: the section menu, and rendering inside the admin's chrome."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.admin import site
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

__all__ = ["SECTIONS", "links", "page", "staff_with"]

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


View = Callable[..., HttpResponse]


def staff_with(*permissions: str) -> Callable[[View], View]:
    """Staff only (others go to the admin login), and 403 for staff without every one of ``permissions``.

    A page shows the records of a model only to users allowed to view them in the admin.
    """

    def decorate(view: View) -> View:
        return staff_member_required(permission_required(permissions, raise_exception=True)(view))

    return decorate
