"""Mount every HTTP step: ``path("", include("motia_django.urls"))`` (include it last)."""

from __future__ import annotations

from django.urls import URLPattern, re_path

from .conf import motia_settings
from .http.routing import build_urlpatterns
from .http.views import not_found
from .registry import get_registry

urlpatterns: list[URLPattern] = build_urlpatterns(get_registry().routes)
if motia_settings().JSON_NOT_FOUND:
    urlpatterns.append(re_path(r"^(?P<path>.*)$", not_found))
