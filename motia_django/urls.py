"""Mount every HTTP step, and the health and metrics endpoints: ``path("", include("motia_django.urls"))`` (last)."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from .conf import motia_settings
from .health.urls import urlpatterns as service_urlpatterns
from .http.routing import RouteTable, StepPattern
from .http.views import async_step_view, not_found, step_view
from .registry import get_registry

_table = RouteTable(get_registry().routes)
urlpatterns: list[URLPattern] = [
    *service_urlpatterns,
    *(StepPattern(routes.regex, step_view, async_step_view, {"routes": routes, "table": _table})
      for routes in _table.paths),
]
if motia_settings().JSON_NOT_FOUND:
    urlpatterns.append(re_path(r"^(?P<path>.*)$", not_found))
