"""The operator REST API (Django REST framework): executions, traces, logs, dead letters, state, streams, queues.

Mount it with ``path("admin/motia/api/", include("motia_django.rest.urls"))``; see ``docs/rest-api.md``.
"""
