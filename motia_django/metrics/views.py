"""The Prometheus endpoint: this process's metrics, or every process's under ``PROMETHEUS_MULTIPROC_DIR``.

Scrapers are let in by address (``METRICS_ALLOWED_IPS``), by bearer token
(``METRICS_TOKEN``) or as signed-in staff; anyone else gets a bare 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from ..conf import motia_settings
from .collectors import RuntimeCollector

__all__ = ["metrics_view", "scrape_allowed"]


class _ThisProcess(Collector):
    """The default registry (this process's counters, its CPU and memory) without registering into it."""

    def collect(self) -> Iterator[Metric]:
        yield from REGISTRY.collect()


def scrape_allowed(request: HttpRequest) -> bool:
    options = motia_settings()
    if options.METRICS_TOKEN:
        given = request.headers.get("Authorization", "")
        if hmac.compare_digest(given.encode(), f"Bearer {options.METRICS_TOKEN}".encode()):
            return True
    user = getattr(request, "user", None)
    if user is not None and user.is_active and user.is_staff:
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(allowed, strict=False) for allowed in options.METRICS_ALLOWED_IPS)


@csrf_exempt
@require_safe
def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scrape_allowed(request):
        return HttpResponse(status=403)
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(RuntimeCollector())
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
