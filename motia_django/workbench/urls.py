"""Workbench URLs (namespace ``motia``)."""

from __future__ import annotations

from django.urls import path

from . import endpoints, flows, queues, traces, views
from .dev_login import dev_login

app_name = "motia"

urlpatterns = [
    path("", dev_login(views.home), name="home"),
    path("traces/", dev_login(traces.trace_list), name="traces"),
    path("traces/<str:trace_id>/", dev_login(traces.trace_detail), name="trace"),
    path("flows/", dev_login(flows.flows), name="flows"),
    path("queues/", dev_login(queues.queues), name="queues"),
    path("endpoints/", dev_login(endpoints.endpoints), name="endpoints"),
    path("endpoints/try/", dev_login(endpoints.try_it), name="try_it"),
    path("openapi.json", dev_login(endpoints.openapi), name="openapi"),
]
