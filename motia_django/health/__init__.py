"""Health checks shared by ``manage.py motia_health`` and the ``/healthz`` and ``/readyz`` endpoints."""

from __future__ import annotations

from .checks import CHECKS, READINESS, CheckResult, Status, Thresholds, overall, run_checks

__all__ = ["CHECKS", "READINESS", "CheckResult", "Status", "Thresholds", "overall", "run_checks"]
