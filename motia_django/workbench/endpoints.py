"""Endpoints: every HTTP trigger with its schemas, the OpenAPI document, and Swagger UI to try them.

Swagger UI is served from this app's static files, never from a CDN, so the
page works on machines without internet access and leaks nothing.
"""

from __future__ import annotations

import json
from types import ModuleType
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, get_resolver, get_script_prefix, reverse

from ..conf import motia_settings
from ..registry import Binding, get_registry
from ..schemas import Schema
from ..steps.triggers import ApiTrigger
from .openapi import openapi_document, operation_ids
from .pages import page

__all__ = ["api_base_url", "endpoints", "openapi", "try_it"]

ROUTES_URLCONF = "motia_django.urls"


def _routes_prefix(patterns: list[URLPattern | URLResolver], prefix: str = "") -> str | None:
    """Where ``motia_django.urls`` is included, e.g. ``""`` or ``"api/"`` (``None`` when it is not)."""
    for pattern in patterns:
        if not isinstance(pattern, URLResolver):
            continue
        here = prefix + str(pattern.pattern).lstrip("^")
        module = pattern.urlconf_module
        if isinstance(module, ModuleType) and module.__name__ == ROUTES_URLCONF:
            return here
        found = _routes_prefix(pattern.url_patterns, here)
        if found is not None:
            return found
    return None


def api_base_url(request: HttpRequest) -> str:
    """The absolute URL the step routes are served under, for the document's ``servers``."""
    prefix = _routes_prefix(get_resolver().url_patterns) or ""
    return request.build_absolute_uri(get_script_prefix() + prefix).rstrip("/")


def _pretty(schema: Schema) -> str:
    return json.dumps(schema.json_schema(), indent=2, default=str)


def _schema_kind(schema: Schema) -> str:
    return "JSON Schema" if isinstance(schema.source, dict) else f"pydantic {schema.source.__name__}"


def _row(binding: Binding, operation_id: str) -> dict[str, Any]:
    trigger = binding.trigger
    assert isinstance(trigger, ApiTrigger)
    config = binding.step.config
    return {
        "method": trigger.method,
        "path": trigger.path,
        "step": binding.step.name,
        "file": binding.step.file_path or "",
        "description": config.description or "",
        "flows": config.flows,
        "body": {"kind": _schema_kind(trigger.body), "json": _pretty(trigger.body)} if trigger.body else None,
        "responses": [{"status": status, "kind": _schema_kind(schema), "json": _pretty(schema)}
                      for status, schema in sorted(trigger.responses.items())],
        "query_params": trigger.query_params or [],
        "conditional": trigger.condition is not None,
        "middleware": len(trigger.middleware or ()),
        # Swagger UI's deep link: #/<first tag>/<operationId>
        "try_it_anchor": f"{(config.flows or ['default'])[0]}/{operation_id}",
    }


@staff_member_required
def endpoints(request: HttpRequest) -> HttpResponse:

    routes = get_registry().routes
    ids = operation_ids(routes)
    return page(request, "motia_django/workbench/endpoints.html", "endpoints", "Endpoints", {
        "routes": [_row(b, ids[b]) for b in routes],
        "openapi_url": reverse("motia:openapi"), "public": motia_settings().OPENAPI_PUBLIC,
    })


def _openapi(request: HttpRequest) -> JsonResponse:
    return JsonResponse(openapi_document(get_registry(), api_base_url(request)))


_staff_openapi = staff_member_required(_openapi)


def openapi(request: HttpRequest) -> HttpResponse:
    """The OpenAPI 3.1 document: staff only unless ``MOTIA["OPENAPI_PUBLIC"]``."""
    return _openapi(request) if motia_settings().OPENAPI_PUBLIC else _staff_openapi(request)


@staff_member_required
def try_it(request: HttpRequest) -> HttpResponse:

    return page(request, "motia_django/workbench/try_it.html", "endpoints", "Try the endpoints", {
        "openapi_url": reverse("motia:openapi"),
    })
