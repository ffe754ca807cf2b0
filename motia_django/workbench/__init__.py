"""The workbench: staff-only pages showing flows, traces, endpoints and queues.

Mount with ``path("admin/motia/", include("motia_django.workbench.urls"))``
before the admin's own URLs.
"""
