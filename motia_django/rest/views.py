"""The operator API's views: the runtime's records, state and streams through the runtime's own APIs, queues, steps.

Nothing here has logic of its own: replays are :func:`..queues.dead_letters.replay_many`,
writes go through ``StateManager`` and ``Stream`` (so state and stream triggers fire),
queue depths, trace summaries and flows are the workbench's.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.schemas.openapi import AutoSchema
from rest_framework.serializers import BaseSerializer
from rest_framework.views import APIView

from ..models import DeadLetter, Execution, LogRecord, OutboxMessage, StateEntry, StreamItem
from ..queues.dead_letters import replay_many
from ..registry import get_registry
from ..schemas import SchemaViolation
from ..state.manager import StateManager
from ..store import InvalidOperation, SetResult
from ..streams.stream import Stream, Streams, UnknownStream
from ..workbench.graph import build_graph
from ..workbench.queues import dead_letters_by_step, queue_rows
from ..workbench.traces import TRACE_STATUSES, add_summaries, summarise_traces
from . import serializers as s
from .filters import Filter, QueryFilters, parse_filters, time_window
from .pagination import Pagination
from .permissions import configured_permission_classes

__all__ = [
    "DeadLetterViewSet", "ExecutionViewSet", "FlowViewSet", "LogRecordViewSet", "OperatorSchema", "QueuesView",
    "StateEntryViewSet",
    "StateItemView", "StepViewSet", "StreamItemView", "StreamItemViewSet", "TraceViewSet",
]


class OperatorSchema(AutoSchema):
    """DRF's OpenAPI schema of a view, tagged, with the bodies of the operations whose own serializers differ.

    ``requests`` and ``responses`` map an action (``replay``) or, for plain views, a method (``put``)
    to its serializer class; ``None`` means no body.
    """

    def __init__(self, tag: str, base: str, requests: dict[str, type[BaseSerializer[Any]] | None] | None = None,
                 responses: dict[str, type[BaseSerializer[Any]]] | None = None) -> None:
        super().__init__(tags=[tag], operation_id_base=base)
        self.requests = requests or {}
        self.responses = responses or {}

    def _operation(self, method: str) -> str:
        return getattr(self.view, "action", None) or method.lower()

    def get_request_serializer(self, path: str, method: str) -> Any:
        operation = self._operation(method)
        if operation in self.requests:
            found = self.requests[operation]
            return found() if found else None
        return super().get_request_serializer(path, method)

    def get_response_serializer(self, path: str, method: str) -> Any:
        found = self.responses.get(self._operation(method))
        return found() if found else super().get_response_serializer(path, method)

    def get_responses(self, path: str, method: str) -> dict[str, Any]:
        """An action's ``POST`` creates nothing: it answers 200, not DRF's assumed 201."""
        responses: dict[str, Any] = super().get_responses(path, method)
        if method == "POST" and self._operation(method) in self.responses and "201" in responses:
            responses["200"] = responses.pop("201")
        return responses


class Operator:
    """What every view of the API shares: the configured permissions, the models they are checked against."""

    #: The models whose ``view_``/``change_``/``delete_`` permissions a request needs.
    permission_models: tuple[type[Model], ...] = ()
    #: An action's own verb, where the method's is not the right one.
    action_verbs: dict[str, str] = {}

    def get_permissions(self) -> list[BasePermission]:
        return [permission() for permission in configured_permission_classes()]


class RecordViewSet(Operator, viewsets.GenericViewSet):
    """A paginated, filtered list of one model's rows."""

    filter_backends = [QueryFilters]
    pagination_class = Pagination
    lookup_value_regex = r"\d+"
    filters: tuple[Filter, ...] = ()


class ExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecordViewSet):
    """Executions (one attempt of one step at one input), newest first."""

    schema = OperatorSchema("executions", "Execution")

    queryset = Execution.objects.order_by("-started_at", "-id")
    serializer_class = s.ExecutionSerializer
    permission_models = (Execution,)
    filters = (
        Filter("step", "step", "only executions of this step"),
        Filter("status", "status", "only executions in this status", choices=tuple(Execution.Status.values)),
        Filter("trace_id", "trace_id", "only executions of this trace"),
        Filter("trigger_type", "trigger_type", "only executions of this trigger type (http, queue, cron, ...)"),
        Filter("topic", "topic", "only deliveries of this topic"),
        *time_window("started_at", "executions started"),
    )


class TraceViewSet(RecordViewSet):
    """Traces, newest first, summarised as the workbench does; one trace as its ordered executions."""

    schema = OperatorSchema("traces", "Trace")

    queryset = Execution.objects.all()
    permission_models = (Execution,)
    lookup_field = "trace_id"
    lookup_value_regex = r"[^/]+"
    filters = (
        Filter("trace_id", "trace_id__startswith", "only traces whose id starts with this"),
        Filter("step", None, "only traces in which this step ran"),
        Filter("status", None, "failed: any execution failed or is dead; succeeded: all ended well; "
                               "running: any still runs", choices=TRACE_STATUSES),
        *time_window("started_at", "traces with executions started"),
    )

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return s.TraceSummarySerializer if self.action == "list" else s.TraceSerializer

    def list(self, request: Request) -> Response:
        values = parse_filters(request, self.filters)
        traces = summarise_traces(self.filter_queryset(self.get_queryset()), values.get("step", ""),
                                  values.get("status", ""))
        rows = self.paginate_queryset(traces)
        assert rows is not None  # the view always paginates
        rows = list(rows)
        add_summaries(rows)
        return self.get_paginated_response(s.TraceSummarySerializer(rows, many=True).data)

    def retrieve(self, request: Request, trace_id: str) -> Response:
        executions = Execution.objects.filter(trace_id=trace_id).order_by("started_at", "id")
        if not executions.exists():
            raise Http404(f"no executions recorded for trace {trace_id!r}")
        user = request.user
        logs = (LogRecord.objects.filter(trace_id=trace_id).order_by("created_at", "id")
                if user.has_perm("motia_django.view_logrecord") else None)
        dead = (DeadLetter.objects.filter(trace_id=trace_id).order_by("failed_at", "id")
                if user.has_perm("motia_django.view_deadletter") else None)
        return Response(s.TraceSerializer({"trace_id": trace_id, "executions": executions, "logs": logs,
                                           "dead_letters": dead}).data)


class LogRecordViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecordViewSet):
    """``ctx.logger`` records, oldest first (as a trace reads)."""

    schema = OperatorSchema("logs", "LogRecord")

    queryset = LogRecord.objects.order_by("created_at", "id")
    serializer_class = s.LogRecordSerializer
    permission_models = (LogRecord,)
    filters = (
        Filter("trace_id", "trace_id", "only records of this trace"),
        Filter("step", "step", "only records of this step"),
        Filter("level", "level__gte", "only records at this level or above (10 debug, 20 info, 30 warning, 40 error)",
               "integer"),
        *time_window("created_at", "records written"),
    )


class DeadLetterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, RecordViewSet):
    """Messages that exhausted their retries, newest first: inspect, replay, delete.

    Replaying removes the letter (as in the admin and ``motia_dlq``), so it takes the ``delete`` permission.
    """

    schema = OperatorSchema("dead letters", "DeadLetter", requests={"replay": None},
                            responses={"replay": s.ReplayResultSerializer, "bulk_replay": s.ReplayResultSerializer})

    queryset = DeadLetter.objects.order_by("-failed_at", "-id")
    permission_models = (DeadLetter,)
    action_verbs = {"replay": "delete", "bulk_replay": "delete"}
    filters = (
        Filter("step", "step", "only letters of this step"),
        Filter("topic", "topic", "only letters of this topic"),
        Filter("error_type", "error_type", "only letters that failed with this exception type (e.g. InvalidInput)"),
        Filter("trace_id", "trace_id", "only letters of this trace"),
        *time_window("failed_at", "letters that failed"),
    )

    def get_serializer_class(self) -> type[BaseSerializer[Any]]:
        return {"list": s.DeadLetterSerializer, "bulk_replay": s.BulkReplaySerializer}.get(
            self.action or "", s.DeadLetterDetailSerializer)

    @action(detail=True, methods=["post"])
    def replay(self, request: Request, pk: str) -> Response:
        """Deliver the message again, with fresh attempts, to the step that failed it (409 if the step is gone)."""
        replayed, refused = replay_many([self.get_object()])
        answer = s.ReplayResultSerializer({"replayed": replayed, "refused": refused, "missing": []}).data
        return Response(answer, status=status.HTTP_409_CONFLICT if refused else status.HTTP_200_OK)

    @action(detail=False, methods=["post"], url_path="replay")
    def bulk_replay(self, request: Request) -> Response:
        """Replay the letters named by ``ids``, or ``all`` those the query string's filters select."""
        body = s.BulkReplaySerializer(data=request.data)
        body.is_valid(raise_exception=True)
        letters: QuerySet[DeadLetter] = self.filter_queryset(self.get_queryset()).order_by("id")
        missing: list[int] = []
        if not body.validated_data["all"]:
            wanted = body.validated_data["ids"]
            letters = letters.filter(id__in=wanted)
            found = set(letters.values_list("id", flat=True))
            missing = [letter_id for letter_id in dict.fromkeys(wanted) if letter_id not in found]
        replayed, refused = replay_many(letters)
        return Response(s.ReplayResultSerializer({"replayed": replayed, "refused": refused, "missing": missing}).data)


class StateEntryViewSet(mixins.ListModelMixin, RecordViewSet):
    """State entries by scope (``group``) and key."""

    schema = OperatorSchema("state", "StateEntry")

    queryset = StateEntry.objects.order_by("group", "key")
    serializer_class = s.StateEntrySerializer
    permission_models = (StateEntry,)
    filters = (Filter("group", "group", "only entries of this scope"),
               Filter("key", "key__startswith", "only keys that start with this"))


class StreamItemViewSet(mixins.ListModelMixin, RecordViewSet):
    """Stream items by stream, group and id."""

    schema = OperatorSchema("streams", "StreamItem")

    queryset = StreamItem.objects.order_by("stream", "group", "key")
    serializer_class = s.StreamItemSerializer
    permission_models = (StreamItem,)
    filters = (Filter("stream", "stream", "only items of this stream"),
               Filter("group", "group", "only items of this group"))


def _written(result: SetResult) -> Response:
    return Response(s.WriteResultSerializer({"old_value": result.old_value, "new_value": result.new_value}).data)


def _refused(exc: InvalidOperation | SchemaViolation) -> ValidationError:
    if isinstance(exc, SchemaViolation):
        return ValidationError({"value": [f"{e.path or '<root>'}: {e.message}" for e in exc.errors]})
    return ValidationError({"detail": str(exc)})


class KeyedItemView(Operator, APIView):
    """One value by group and key: read from its row, written through the runtime's API so its triggers fire."""

    model: type[StateEntry] | type[StreamItem]

    def api(self, **where: str) -> StateManager | Stream[Any]:
        raise NotImplementedError

    def row(self, **where: str) -> Any:
        try:
            return self.model._default_manager.get(**where)
        except self.model.DoesNotExist:
            raise Http404(f"no {self.model._meta.verbose_name} {'/'.join(where.values())}") from None

    def _value(self, request: Request) -> Any:
        body = s.ValueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return body.validated_data["value"]

    def _operations(self, request: Request) -> list[dict[str, Any]]:
        body = s.UpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        operations: list[dict[str, Any]] = body.validated_data["operations"]
        return operations


class StateItemView(KeyedItemView):
    """``GET``/``PUT``/``PATCH``/``DELETE`` one state value, as ``ctx.state`` would (state triggers fire)."""

    schema = OperatorSchema("state", "StateValue", requests={"put": s.ValueSerializer, "patch": s.UpdateSerializer},
                            responses={"get": s.StateEntrySerializer, "put": s.WriteResultSerializer,
                                       "patch": s.WriteResultSerializer})

    model = StateEntry
    permission_models = (StateEntry,)

    def get(self, request: Request, group: str, key: str) -> Response:
        return Response(s.StateEntrySerializer(self.row(group=group, key=key)).data)

    def put(self, request: Request, group: str, key: str) -> Response:
        try:
            return _written(StateManager().set(group, key, self._value(request)))
        except InvalidOperation as exc:
            raise _refused(exc) from None

    def patch(self, request: Request, group: str, key: str) -> Response:
        try:
            return _written(StateManager().update(group, key, self._operations(request)))
        except InvalidOperation as exc:
            raise _refused(exc) from None

    def delete(self, request: Request, group: str, key: str) -> Response:
        self.row(group=group, key=key)
        StateManager().delete(group, key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class StreamItemView(KeyedItemView):
    """``GET``/``PUT``/``PATCH``/``DELETE`` one item of a declared stream, validated by its schema (triggers fire)."""

    schema = OperatorSchema("streams", "StreamValue", requests={"put": s.ValueSerializer, "patch": s.UpdateSerializer},
                            responses={"get": s.StreamItemSerializer, "put": s.WriteResultSerializer,
                                       "patch": s.WriteResultSerializer})

    model = StreamItem
    permission_models = (StreamItem,)

    def stream(self, name: str) -> Stream[Any]:
        get_registry()  # the streams of *_stream.py files are declared by discovery
        try:
            return Streams()[name]
        except UnknownStream as exc:
            raise Http404(str(exc)) from None

    def get(self, request: Request, stream: str, group: str, item: str) -> Response:
        return Response(s.StreamItemSerializer(self.row(stream=stream, group=group, key=item)).data)

    def put(self, request: Request, stream: str, group: str, item: str) -> Response:
        target = self.stream(stream)
        try:
            return _written(target.set(group, item, self._value(request)))
        except (InvalidOperation, SchemaViolation) as exc:
            raise _refused(exc) from None

    def patch(self, request: Request, stream: str, group: str, item: str) -> Response:
        target = self.stream(stream)
        try:
            return _written(target.update(group, item, self._operations(request)))
        except InvalidOperation as exc:
            raise _refused(exc) from None

    def delete(self, request: Request, stream: str, group: str, item: str) -> Response:
        target = self.stream(stream)
        self.row(stream=stream, group=group, key=item)
        target.delete(group, item)
        return Response(status=status.HTTP_204_NO_CONTENT)


class QueuesView(Operator, APIView):
    """Every step queue: depth and consumers as the broker reports them, throughput, dead letters (the workbench's)."""

    schema = OperatorSchema("queues", "Queue")

    permission_models = (Execution, DeadLetter)

    def get(self, request: Request) -> Response:
        rows, broker_error = queue_rows()
        return Response({"queues": rows, "broker_error": broker_error, "outbox": OutboxMessage.objects.count(),
                         "dead_letters": sum(dead_letters_by_step().values())})


class StepViewSet(Operator, viewsets.ViewSet):
    """The step registry: every step with its triggers and enqueues, and the discovery errors and warnings."""

    schema = OperatorSchema("steps", "Step")

    lookup_value_regex = r"[^/]+"

    def list(self, request: Request) -> Response:
        return Response(get_registry().as_json())

    def retrieve(self, request: Request, pk: str) -> Response:
        found = [step for step in get_registry().as_json()["steps"] if step["name"] == pk]
        if not found:
            raise Http404(f"no step named {pk!r}")
        return Response(found[0])


class FlowViewSet(Operator, viewsets.ViewSet):
    """Each flow as the graph the workbench draws: step and topic nodes, enqueue and subscription edges."""

    schema = OperatorSchema("flows", "Flow")

    lookup_value_regex = r"[^/]+"

    def list(self, request: Request) -> Response:
        return Response([asdict(flow) for flow in build_graph(get_registry()).flows])

    def retrieve(self, request: Request, pk: str) -> Response:
        flow = build_graph(get_registry()).flow(pk)
        if flow is None:
            raise Http404(f"no flow named {pk!r}")
        return Response(asdict(flow))
