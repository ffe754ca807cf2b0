"""Traces: recent traces, and one trace as a waterfall of its executions with their logs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import Count, Max, Min, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from ..models import DeadLetter, Execution, LogRecord
from .pages import page, staff_with

__all__ = ["TRACE_STATUSES", "add_summaries", "summarise_traces", "trace_detail", "trace_list"]

WINDOWS = {"15m": timedelta(minutes=15), "1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
PROBLEMS = ("failed", "dead")


#: The statuses a trace can be filtered by: any execution failed or dead, all ended well, any still running.
TRACE_STATUSES = ("failed", "succeeded", "running")


def summarise_traces(executions: QuerySet[Execution], step: str = "", status: str = "") -> QuerySet[Any]:
    """One row per trace of ``executions`` (start, last, counts), newest first; ``step`` and ``status`` narrow it."""
    traces = executions.values("trace_id").annotate(
        start=Min("started_at"), last=Max("started_at"), executions=Count("id"),
        problems=Count("id", filter=Q(status__in=PROBLEMS)), running=Count("id", filter=Q(status="running")),
    )
    if step:
        traces = traces.filter(trace_id__in=Execution.objects.filter(step=step).values("trace_id"))
    if status == "failed":
        traces = traces.filter(problems__gt=0)
    elif status == "succeeded":
        traces = traces.filter(problems=0, running=0)
    elif status == "running":
        traces = traces.filter(running__gt=0)
    return traces.order_by("-start")


@staff_with("motia_django.view_execution")
def trace_list(request: HttpRequest) -> HttpResponse:
    executions = Execution.objects.all()
    step, status, window, query = (request.GET.get(k, "") for k in ("step", "status", "window", "q"))
    if query:
        executions = executions.filter(trace_id__startswith=query.strip())
    if window in WINDOWS:
        executions = executions.filter(started_at__gte=timezone.now() - WINDOWS[window])
    rows = list(summarise_traces(executions, step, status)[:100])
    add_summaries(rows)
    return page(request, "motia_django/workbench/traces.html", "traces", "Traces", {
        "traces": rows, "steps": sorted(Execution.objects.values_list("step", flat=True).distinct()),
        "filters": {"step": step, "status": status, "window": window, "q": query}, "windows": list(WINDOWS),
    })


def add_summaries(rows: list[Any]) -> None:
    """Root step, duration and status of each listed trace."""
    ids = [row["trace_id"] for row in rows]
    chains: dict[str, list[Execution]] = {}
    for execution in Execution.objects.filter(trace_id__in=ids).order_by("started_at"):
        chains.setdefault(execution.trace_id, []).append(execution)
    for row in rows:
        chain = chains.get(row["trace_id"], [])
        row["root"] = chain[0].step if chain else ""
        row["steps"] = sorted({e.step for e in chain})
        ends = [e.started_at + timedelta(milliseconds=e.duration_ms or 0) for e in chain]
        row["duration_ms"] = (max(ends) - row["start"]).total_seconds() * 1000 if ends else 0
        row["status"] = "failed" if row["problems"] else "running" if row["running"] else "succeeded"


@staff_with("motia_django.view_execution")
def trace_detail(request: HttpRequest, trace_id: str) -> HttpResponse:
    """The trace's executions; its log records and dead letters only for users who may view those."""
    executions = list(Execution.objects.filter(trace_id=trace_id).order_by("started_at", "id"))
    logs = (list(LogRecord.objects.filter(trace_id=trace_id).order_by("created_at", "id"))
            if request.user.has_perm("motia_django.view_logrecord") else [])
    start = min((e.started_at for e in executions), default=timezone.now())
    end = max((e.started_at + timedelta(milliseconds=e.duration_ms or 0) for e in executions), default=start)
    total_ms = max((end - start).total_seconds() * 1000, 1.0)
    bars: list[dict[str, Any]] = []
    for execution in executions:
        offset = (execution.started_at - start).total_seconds() * 1000
        duration = execution.duration_ms or 0
        finished = execution.started_at + timedelta(milliseconds=duration)
        bars.append({
            "execution": execution,
            "offset_ms": offset,
            "left": offset / total_ms * 100,
            "width": max(duration / total_ms * 100, 0.4),
            "logs": [log for log in logs if log.step == execution.step
                     and execution.started_at - timedelta(milliseconds=5) <= log.created_at
                     <= finished + timedelta(milliseconds=5)],
        })
    shown = {id(log) for bar in bars for log in bar["logs"]}
    return page(request, "motia_django/workbench/trace.html", "traces", f"Trace {trace_id}", {
        "trace_id": trace_id, "bars": bars, "total_ms": total_ms, "start": start,
        "other_logs": [log for log in logs if id(log) not in shown],
        "dead_letters": (DeadLetter.objects.filter(trace_id=trace_id)
                         if request.user.has_perm("motia_django.view_deadletter") else []),
    })
