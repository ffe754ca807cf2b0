"""Django URL patterns built from the registry's HTTP triggers.

Routes sharing a shape (``/todos/:id`` and ``/todos/{todoId}``) share one URL
pattern and are told apart by method; a method missing on the first matching
pattern is looked up on the later ones before answering 405.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.urls import URLPattern, re_path

from ..registry import Binding
from ..steps.triggers import ApiTrigger

__all__ = ["PathRoutes", "RouteTable", "build_urlpatterns"]

_PARAM = re.compile(r":[^/]+|\{[^/{}]+\}")


def _regex(path: str) -> str:
    pieces = _PARAM.split(path.lstrip("/"))
    return "^" + "([^/]+)".join(re.escape(p) for p in pieces) + "$"


def _trigger(binding: Binding) -> ApiTrigger:
    assert isinstance(binding.trigger, ApiTrigger)
    return binding.trigger


@dataclass
class PathRoutes:
    """Every method served on one path shape."""

    regex: str
    methods: dict[str, Binding] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.compiled = re.compile(self.regex)

    def params(self, method: str, args: Iterable[str]) -> dict[str, str]:
        return dict(zip(_trigger(self.methods[method]).param_names, args, strict=False))


class RouteTable:
    def __init__(self, bindings: Iterable[Binding]) -> None:
        shapes: dict[str, PathRoutes] = {}
        for binding in bindings:
            trigger = _trigger(binding)
            routes = shapes.setdefault(trigger.route_shape, PathRoutes(_regex(trigger.path)))
            routes.methods[trigger.method] = binding
        # literal segments win over parameters: /todos/stats before /todos/:id
        self.paths = sorted(shapes.values(), key=lambda r: (r.regex.count("([^/]+)"), -len(r.regex)))

    def lookup(self, path: str, method: str) -> tuple[PathRoutes, list[str]] | None:
        """The first pattern serving ``method`` on ``path`` (``path`` without leading slash)."""
        for routes in self.paths:
            match = routes.compiled.match(path)
            if match and method in routes.methods:
                return routes, list(match.groups())
        return None

    def allowed(self, path: str) -> list[str]:
        return sorted({m for r in self.paths if r.compiled.match(path) for m in r.methods})


def build_urlpatterns(bindings: Iterable[Binding]) -> list[URLPattern]:
    from .views import step_view

    table = RouteTable(bindings)
    return [re_path(routes.regex, step_view, {"routes": routes, "table": table}) for routes in table.paths]
