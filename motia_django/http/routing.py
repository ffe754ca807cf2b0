"""Django URL patterns built from the registry's HTTP triggers.

Routes sharing a shape (``/todos/:id`` and ``/todos/{todoId}``) share one URL
pattern and are told apart by method; a method missing on the first matching
pattern is looked up on the later ones before answering 405.

A :class:`StepPattern` resolves to the sync view when Django resolves the URL
in sync code (WSGI, the test client) and to the async view on an event loop
(ASGI), so neither server pays for a bridge it does not need.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.urls import URLPattern
from django.urls.resolvers import RegexPattern, ResolverMatch

from ..registry import Binding
from ..steps.triggers import ApiTrigger

__all__ = ["PathRoutes", "RouteTable", "StepPattern"]

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
        self._names: dict[str, list[str]] = {}

    def params(self, method: str, args: Iterable[str]) -> dict[str, str]:
        names = self._names.get(method)
        if names is None:
            names = self._names[method] = _trigger(self.methods[method]).param_names
        return dict(zip(names, args, strict=False))


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


class StepPattern(URLPattern):
    """A step route: the sync view under WSGI, the async view under ASGI."""

    def __init__(self, regex: str, sync_view: Callable[..., Any], async_view: Callable[..., Any],
                 default_args: dict[str, Any]) -> None:
        super().__init__(RegexPattern(regex, is_endpoint=True), sync_view, default_args)
        self.async_view = async_view

    def resolve(self, path: str) -> ResolverMatch | None:
        match = super().resolve(path)
        if match is not None and asyncio._get_running_loop() is not None:
            match.func = self.async_view
        return match
