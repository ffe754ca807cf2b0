"""Flows: each flow as a graph of its steps and topics, drawn server-side so no script or CDN is needed."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.utils.safestring import mark_safe

from ..registry import get_registry
from .graph import build_graph
from .pages import page
from .svg import render_svg

__all__ = ["flows"]


@staff_member_required
def flows(request: HttpRequest) -> HttpResponse:
    """All flows, or the one picked with ``?flow=``; only the flows shown are laid out."""

    graph = build_graph(get_registry())
    selected = request.GET.get("flow", "")
    sections = [
        {
            "name": flow.name,
            "anchor": f"flow-{number}",
            "steps": len(flow.steps),
            "topics": len(flow.topics),
            "svg": mark_safe(render_svg(flow, id_prefix=f"flow-{number}")),  # every text in it is escaped
        }
        for number, flow in enumerate(graph.flows)
        if not selected or flow.name == selected
    ]
    return page(request, "motia_django/workbench/flows.html", "flows", "Flows", {
        "flows": sections, "names": [f.name for f in graph.flows], "selected": selected,
        "unknown": bool(selected) and not sections,
    })
