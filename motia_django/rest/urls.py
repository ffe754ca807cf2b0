"""Operator REST API URLs (namespace ``motia-api``): ``path("admin/motia/api/", include("motia_django.rest.urls"))``."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path, re_path
from rest_framework.renderers import JSONOpenAPIRenderer
from rest_framework.request import Request
from rest_framework.routers import SimpleRouter
from rest_framework.schemas import get_schema_view
from rest_framework.schemas.openapi import SchemaGenerator

from .. import __version__
from . import views
from .permissions import configured_permission_classes

app_name = "motia-api"

router = SimpleRouter()
router.register("executions", views.ExecutionViewSet, basename="execution")
router.register("traces", views.TraceViewSet, basename="trace")
router.register("logs", views.LogRecordViewSet, basename="log")
router.register("dead-letters", views.DeadLetterViewSet, basename="dead-letter")
router.register("state", views.StateEntryViewSet, basename="state")
router.register("streams", views.StreamItemViewSet, basename="stream-item")
router.register("steps", views.StepViewSet, basename="step")
router.register("flows", views.FlowViewSet, basename="flow")

api_patterns: list[URLPattern | URLResolver] = [
    *router.urls,
    # a group holds no "/", a key may
    re_path(r"^state/(?P<group>[^/]+)/(?P<key>.+)/$", views.StateItemView.as_view(), name="state-item"),
    re_path(r"^streams/(?P<stream>[^/]+)/(?P<group>[^/]+)/(?P<item>.+)/$", views.StreamItemView.as_view(),
            name="stream-item-detail"),
    path("queues/", views.QueuesView.as_view(), name="queues"),
]

SCHEMA_PATH = "schema/"


class MountedSchemaGenerator(SchemaGenerator):
    """Paths as served: below wherever the project mounted these URLs (read from the schema's own URL)."""

    def get_schema(self, request: Request | None = None, public: bool = False) -> Any:
        if request is not None:
            self.url = request.path.removesuffix(SCHEMA_PATH)
        return super().get_schema(request, public)


urlpatterns: list[URLPattern | URLResolver] = [
    *api_patterns,
    path(SCHEMA_PATH, get_schema_view(
        title="motia-django operator API", version=__version__, public=True, patterns=api_patterns,
        generator_class=MountedSchemaGenerator,
        description="Executions, traces, logs, dead letters, state, streams, queues and steps (docs/rest-api.md).",
        renderer_classes=[JSONOpenAPIRenderer], permission_classes=list(configured_permission_classes()),
    ), name="schema"),
]
