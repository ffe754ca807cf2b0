from __future__ import annotations

from django.contrib import admin
from django.contrib.staticfiles.urls import staticfiles_urlpatterns
from django.urls import include, path

urlpatterns = [
    path("admin/motia/api/", include("motia_django.rest.urls")),  # the operator REST API (docs/rest-api.md)
    path("admin/motia/", include("motia_django.workbench.urls")),
    path("admin/", admin.site.urls),
    # static files for DEBUG servers (admin, Swagger UI); in production serve STATIC_ROOT
    *staticfiles_urlpatterns(),
    # last: step routes, and a JSON 404 for anything else
    path("", include("motia_django.urls")),
]
