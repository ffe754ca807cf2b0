"""Query-string filters of the API's lists, declared once per view so the OpenAPI document lists them too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError
from rest_framework.filters import BaseFilterBackend
from rest_framework.request import Request

__all__ = ["Filter", "QueryFilters", "parse_filters", "time_window"]


@dataclass(frozen=True)
class Filter:
    """``?<param>=`` narrows the list to rows whose ``lookup`` matches; ``lookup=None``: the view reads it itself."""

    param: str
    lookup: str | None
    description: str
    kind: str = "string"
    choices: tuple[str, ...] = ()

    def parse(self, raw: str) -> Any:
        """The value as the lookup takes it; a value it cannot be is a 400 naming the parameter."""
        if self.choices and raw not in self.choices:
            raise ValidationError({self.param: [f"must be one of {', '.join(self.choices)}, not {raw!r}"]})
        if self.kind == "integer":
            try:
                return int(raw)
            except ValueError:
                raise ValidationError({self.param: [f"must be an integer, not {raw!r}"]}) from None
        if self.kind == "date-time":
            return _moment(self.param, raw)
        return raw

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer"} if self.kind == "integer" else {"type": "string"}
        if self.kind == "date-time":
            schema["format"] = "date-time"
        if self.choices:
            schema["enum"] = list(self.choices)
        return {"name": self.param, "required": False, "in": "query", "description": self.description,
                "schema": schema}


def _moment(param: str, raw: str) -> datetime:
    try:
        moment = parse_datetime(raw.strip().replace(" ", "+"))  # a "+" left unescaped in a query reads as a space
    except ValueError:
        moment = None
    if moment is None:
        raise ValidationError({param: [f"must be an ISO 8601 date and time (2025-01-31T12:00:00Z), not {raw!r}"]})
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def time_window(field: str, what: str) -> tuple[Filter, Filter]:
    """The ``since`` and ``until`` parameters over one timestamp ``field``."""
    return (Filter("since", f"{field}__gte", f"only {what} at or after this moment (ISO 8601)", "date-time"),
            Filter("until", f"{field}__lte", f"only {what} at or before this moment (ISO 8601)", "date-time"))


def parse_filters(request: Request, filters: tuple[Filter, ...]) -> dict[str, Any]:
    """The given filters' values by parameter; empty parameters count as not given."""
    values = {}
    for item in filters:
        raw = request.query_params.get(item.param, "")
        if raw != "":
            values[item.param] = item.parse(raw)
    return values


class QueryFilters(BaseFilterBackend):
    """Applies the view's ``filters`` to its lists (a row is fetched by id whatever the query string says).

    DRF's schema generator reads their parameters from here.
    """

    def filter_queryset(self, request: Request, queryset: QuerySet[Any], view: Any) -> QuerySet[Any]:
        if getattr(view, "detail", False):
            return queryset
        filters: tuple[Filter, ...] = getattr(view, "filters", ())
        values = parse_filters(request, filters)
        lookups = {item.lookup: values[item.param] for item in filters if item.lookup and item.param in values}
        return queryset.filter(**lookups) if lookups else queryset

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        return [] if getattr(view, "detail", False) else [item.schema() for item in getattr(view, "filters", ())]
