"""What the API answers with and accepts: the runtime's records, trace summaries, and state/stream writes."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import DeadLetter, Execution, LogRecord, StateEntry, StreamItem

__all__ = [
    "BulkReplaySerializer", "DeadLetterDetailSerializer", "DeadLetterSerializer", "ExecutionSerializer",
    "LogRecordSerializer", "ReplayResultSerializer", "StateEntrySerializer", "StreamItemSerializer",
    "TraceSerializer", "TraceSummarySerializer", "UpdateSerializer", "ValueSerializer", "WriteResultSerializer",
]


class ExecutionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Execution
        fields = ("id", "trace_id", "step", "trigger_type", "binding", "message_id", "topic", "attempt", "status",
                  "started_at", "duration_ms", "error", "traceback", "worker")


class LogRecordSerializer(serializers.ModelSerializer):
    level_name = serializers.CharField(read_only=True)

    class Meta:
        model = LogRecord
        fields = ("id", "trace_id", "step", "level", "level_name", "message", "data", "created_at")


class DeadLetterSerializer(serializers.ModelSerializer):
    """A dead letter in a list: what failed and why, without the envelope and traceback."""

    class Meta:
        model = DeadLetter
        fields: tuple[str, ...] = ("id", "step", "topic", "binding", "message_id", "trace_id", "payload", "error",
                                   "error_type", "attempts", "first_attempt_at", "failed_at")


class DeadLetterDetailSerializer(DeadLetterSerializer):
    class Meta(DeadLetterSerializer.Meta):
        fields = (*DeadLetterSerializer.Meta.fields, "envelope", "traceback")


class TraceSummarySerializer(serializers.Serializer):
    """One trace in the list, as the workbench's traces page summarises it."""

    trace_id = serializers.CharField()
    root = serializers.CharField(help_text="the step that started the trace")
    steps = serializers.ListField(child=serializers.CharField())
    status = serializers.ChoiceField(choices=("failed", "succeeded", "running"))
    start = serializers.DateTimeField()
    last = serializers.DateTimeField(help_text="when the trace's latest execution started")
    duration_ms = serializers.FloatField()
    executions = serializers.IntegerField()
    problems = serializers.IntegerField(help_text="executions that failed or went to the dead letters")
    running = serializers.IntegerField()


class TraceSerializer(serializers.Serializer):
    """One trace: its executions in order, with its log records and dead letters for users who may view them."""

    trace_id = serializers.CharField()
    executions = ExecutionSerializer(many=True)
    logs = LogRecordSerializer(many=True, allow_null=True,
                               help_text="null without the view_logrecord permission")
    dead_letters = DeadLetterSerializer(many=True, allow_null=True,
                                        help_text="null without the view_deadletter permission")


class StateEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = StateEntry
        fields = ("group", "key", "value", "created_at", "updated_at")


class StreamItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = StreamItem
        fields = ("stream", "group", "key", "value", "version", "created_at", "updated_at")


class ValueSerializer(serializers.Serializer):
    """A ``PUT``: the whole new value (any JSON, ``null`` included)."""

    value = serializers.JSONField(allow_null=True)


class UpdateSerializer(serializers.Serializer):
    """A ``PATCH``: the operations of ``state.update`` / ``stream.update``, applied atomically."""

    operations = serializers.ListField(child=serializers.DictField(), allow_empty=False,
                                       help_text='e.g. [{"type": "increment", "path": "count", "value": 1}]')


class WriteResultSerializer(serializers.Serializer):
    old_value = serializers.JSONField(allow_null=True)
    new_value = serializers.JSONField(allow_null=True)


class BulkReplaySerializer(serializers.Serializer):
    """Which dead letters to replay: these ``ids``, or ``all`` of those the query string's filters select."""

    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, allow_empty=False)
    all = serializers.BooleanField(default=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("ids" in attrs) == attrs["all"]:
            raise serializers.ValidationError('give either "ids" or "all": true')
        return attrs


class ReplayResultSerializer(serializers.Serializer):
    replayed = serializers.ListField(child=serializers.IntegerField())
    refused = serializers.DictField(child=serializers.CharField(),
                                    help_text="dead letter id -> why it could not be replayed (its step is gone)")
    missing = serializers.ListField(child=serializers.IntegerField(), help_text="requested ids that do not exist")
