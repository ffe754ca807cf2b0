"""``/healthz`` and ``/readyz``: answers for load balancers and orchestrators, open to anyone.

They say only ``ok``/``fail`` per check name: no versions, host names or error texts.
"""

from __future__ import annotations

from collections.abc import Mapping

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from ..conf import motia_settings
from .checks import READINESS, Status, Thresholds, overall, run_checks

__all__ = ["liveness", "readiness"]


def _answer(status: int, body: Mapping[str, object]) -> HttpResponse:
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_safe
def liveness(request: HttpRequest) -> HttpResponse:
    """The process serves requests; touches nothing else, so a slow database never gets it restarted."""
    return _answer(200, {"status": "ok"})


@csrf_exempt
@require_safe
async def readiness(request: HttpRequest) -> HttpResponse:
    """The database and the broker answer within ``HEALTH_TIMEOUT``: 200, else 503."""
    limits = Thresholds(timeout=motia_settings().HEALTH_TIMEOUT)
    results = await sync_to_async(run_checks, thread_sensitive=False)(READINESS, limits)
    ready = overall(results) is not Status.FAIL
    body = {"status": "ok" if ready else "fail",
            "checks": {r.name: "fail" if r.status is Status.FAIL else "ok" for r in results}}
    return _answer(200 if ready else 503, body)
