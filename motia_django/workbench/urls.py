"""Workbench URLs (namespace ``motia``)."""

from __future__ import annotations

from django.urls import path

from . import endpoints, flows, queues, traces, views

app_name = "motia"

urlpatterns = [
    path("", views.home, name="home"),
    path("traces/", traces.trace_list, name="traces"),
    path("traces/<str:trace_id>/", traces.trace_detail, name="trace"),
    path("flows/", flows.flows, name="flows"),
    path("queues/", queues.queues, name="queues"),
    path("endpoints/", endpoints.endpoints, name="endpoints"),
    path("endpoints/try/", endpoints.try_it, name="try_it"),
    path("openapi.json", endpoints.openapi, name="openapi"),
]
