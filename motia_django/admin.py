"""Django admin: the window into state, streams, executions (traces), log records, dead letters, the outbox
and the results of ``django.tasks`` tasks."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from .models import DeadLetter, Execution, LogRecord, OutboxMessage, StateEntry, StreamItem, TaskRecord
from .queues.dead_letters import replay_many
from .state.manager import StateManager
from .streams.stream import Stream


def pretty_json(value: Any) -> SafeString:
    return format_html('<pre style="margin:0;white-space:pre-wrap">{}</pre>',
                       json.dumps(value, indent=2, sort_keys=True, default=str))


def trace_link(trace_id: str) -> SafeString:
    """The workbench's waterfall of the trace when it is mounted, else its executions in the admin."""
    try:
        url = reverse("motia:trace", args=[trace_id])
    except NoReverseMatch:
        url = reverse("admin:motia_django_execution_changelist") + f"?trace_id={trace_id}"
    return format_html('<a href="{}">{}</a>', url, trace_id)


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Records written by the runtime: viewable, never edited by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyAdmin):
    list_display = ("failed_at", "step", "topic", "error_type", "attempts", "trace")
    list_filter = ("step", "topic", "error_type")
    search_fields = ("error", "trace_id", "message_id", "step", "topic")
    readonly_fields = ("step", "topic", "binding", "message_id", "trace", "payload_pretty", "error", "error_type",
                       "traceback", "attempts", "first_attempt_at", "failed_at")
    exclude = ("payload", "envelope", "trace_id")
    actions = ("replay",)
    date_hierarchy = "failed_at"

    @admin.display(description="trace id", ordering="trace_id")
    def trace(self, obj: DeadLetter) -> SafeString:
        return trace_link(obj.trace_id)

    @admin.display(description="payload")
    def payload_pretty(self, obj: DeadLetter) -> SafeString:
        return pretty_json(obj.payload)

    @admin.action(description="Replay selected dead letters", permissions=["delete"])
    def replay(self, request: HttpRequest, queryset: QuerySet[DeadLetter]) -> None:
        replayed, refused = replay_many(queryset)
        for reason in refused.values():
            self.message_user(request, reason, messages.ERROR)
        if replayed:
            self.message_user(request, f"Replayed {len(replayed)} message(s).", messages.SUCCESS)


@admin.register(Execution)
class ExecutionAdmin(ReadOnlyAdmin):
    """Every execution; filter by ``trace_id`` to see one trace as its ordered chain of steps."""

    list_display = ("started_at", "step", "trigger_type", "topic", "attempt", "status", "duration", "trace")
    list_filter = ("status", "trigger_type", "step")
    search_fields = ("=trace_id", "=message_id", "step", "error")
    readonly_fields = ("trace", "step", "trigger_type", "binding", "topic", "message_id", "attempt", "status",
                       "started_at", "duration_ms", "worker", "error", "traceback")
    exclude = ("trace_id",)
    date_hierarchy = "started_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Execution]:
        queryset = super().get_queryset(request)
        trace_id = request.GET.get("trace_id")
        return queryset.filter(trace_id=trace_id).order_by("started_at") if trace_id else queryset

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        return lookup == "trace_id" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, obj: Execution) -> str:
        return "-" if obj.duration_ms is None else f"{obj.duration_ms:.1f} ms"

    @admin.display(description="trace id", ordering="trace_id")
    def trace(self, obj: Execution) -> SafeString:
        return trace_link(obj.trace_id)


@admin.register(LogRecord)
class LogRecordAdmin(ReadOnlyAdmin):
    """What ``ctx.logger`` recorded, by trace: written by the runtime, removed by retention (``RETENTION_DAYS``)."""

    list_display = ("created_at", "step", "level_label", "short_message", "trace")
    list_filter = ("level", "step")
    search_fields = ("=trace_id", "step", "message")
    readonly_fields = ("created_at", "step", "level_label", "trace", "message", "data_pretty")
    exclude = ("trace_id", "level", "data")
    date_hierarchy = "created_at"

    @admin.display(description="level", ordering="level")
    def level_label(self, obj: LogRecord) -> str:
        return obj.level_name

    @admin.display(description="message")
    def short_message(self, obj: LogRecord) -> str:
        return obj.message[:120]

    @admin.display(description="trace id", ordering="trace_id")
    def trace(self, obj: LogRecord) -> SafeString:
        return trace_link(obj.trace_id)

    @admin.display(description="data")
    def data_pretty(self, obj: LogRecord) -> SafeString:
        return pretty_json(obj.data)


@admin.register(TaskRecord)
class TaskRecordAdmin(ReadOnlyAdmin):
    """Results of ``django.tasks`` tasks run by ``MotiaTaskBackend``; their attempts are executions of the trace."""

    list_display = ("enqueued_at", "task_path", "queue_name", "status", "attempts", "trace")
    list_filter = ("status", "backend", "queue_name")
    search_fields = ("=id", "=trace_id", "task_path")
    readonly_fields = ("id", "backend", "task_path", "queue_name", "status", "trace", "enqueued_at", "run_after",
                       "started_at", "last_attempted_at", "finished_at", "args_pretty", "kwargs_pretty",
                       "return_value_pretty", "errors_pretty")
    exclude = ("trace_id", "args", "kwargs", "return_value", "errors", "worker_ids", "priority")
    date_hierarchy = "enqueued_at"

    @admin.display(description="attempts")
    def attempts(self, obj: TaskRecord) -> int:
        return len(obj.worker_ids)

    @admin.display(description="trace id", ordering="trace_id")
    def trace(self, obj: TaskRecord) -> SafeString:
        return trace_link(obj.trace_id)

    @admin.display(description="args")
    def args_pretty(self, obj: TaskRecord) -> SafeString:
        return pretty_json(obj.args)

    @admin.display(description="kwargs")
    def kwargs_pretty(self, obj: TaskRecord) -> SafeString:
        return pretty_json(obj.kwargs)

    @admin.display(description="return value")
    def return_value_pretty(self, obj: TaskRecord) -> SafeString:
        return pretty_json(obj.return_value)

    @admin.display(description="errors")
    def errors_pretty(self, obj: TaskRecord) -> SafeString:
        return pretty_json(obj.errors)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "queue", "binding", "eta", "last_error")
    search_fields = ("queue", "binding")
    readonly_fields = ("binding", "queue", "eta", "created_at", "send_attempts", "last_error", "envelope_pretty")
    exclude = ("envelope",)

    @admin.display(description="envelope")
    def envelope_pretty(self, obj: OutboxMessage) -> SafeString:
        return pretty_json(obj.envelope)


class KeyedValueAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Edits and deletes go through the state/stream API, so triggers fire as for any write."""

    readonly_fields = ("value_pretty", "created_at", "updated_at")
    fields = ["group", "key", "value", "value_pretty", "created_at", "updated_at"]
    search_fields = ["group", "key"]

    @admin.display(description="value")
    def value_pretty(self, obj: Any) -> SafeString:
        return pretty_json(obj.value)

    def api(self, obj: Any) -> Any:
        raise NotImplementedError

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        if change and {"group", "key"} & set(form.changed_data):
            original = type(obj).objects.get(pk=obj.pk)
            self.api(original).delete(original.group, original.key)
        self.api(obj).set(obj.group, obj.key, obj.value)
        obj.pk = type(obj).objects.get(group=obj.group, key=obj.key, **self.scope(obj)).pk

    def scope(self, obj: Any) -> dict[str, Any]:
        return {}

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.api(obj).delete(obj.group, obj.key)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(StateEntry)
class StateEntryAdmin(KeyedValueAdmin):
    list_display = ("group", "key", "updated_at")
    list_filter = ("group",)

    def api(self, obj: StateEntry) -> StateManager:
        return StateManager()


@admin.register(StreamItem)
class StreamItemAdmin(KeyedValueAdmin):
    list_display = ("stream", "group", "key", "updated_at")
    list_filter = ("stream", "group")
    fields = ["stream", "group", "key", "value", "value_pretty", "created_at", "updated_at"]
    search_fields = ["stream", "group", "key"]

    def api(self, obj: StreamItem) -> Stream[Any]:
        return Stream(obj.stream)

    def scope(self, obj: StreamItem) -> dict[str, Any]:
        return {"stream": obj.stream}
