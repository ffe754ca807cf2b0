"""Django models: state and streams, the queue runtime's executions, dead letters and outbox, task results."""

from __future__ import annotations

import logging

from django.db import models

__all__ = [
    "ChangePayload",
    "ConcurrencySlot",
    "DeadLetter",
    "Execution",
    "FifoGroup",
    "FifoMessage",
    "Lease",
    "LogRecord",
    "OutboxMessage",
    "StateEntry",
    "StreamItem",
    "TaskRecord",
    "WaitingMessage",
]


class KeyedValue(models.Model):
    """A JSON value addressed by ``group`` and ``key``; concrete models add their namespace."""

    group = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    value = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True

    #: The value before the pending save, set by the store so change triggers see it.
    previous_value: object = None


class StateEntry(KeyedValue):
    """One ``ctx.state`` value: ``group`` is the scope."""

    class Meta:
        verbose_name = "state entry"
        verbose_name_plural = "state"
        constraints = [models.UniqueConstraint(fields=["group", "key"], name="motia_state_unique_key")]
        ordering = ["group", "key"]

    def __str__(self) -> str:
        return f"{self.group} / {self.key}"


class StreamItem(KeyedValue):
    """One item of a stream: ``group`` is the group id, ``key`` the item id."""

    stream = models.CharField(max_length=255)
    #: Orders the item's changes for subscribers, whichever process wrote them.  The store
    #: sets it under the row lock: the database clock (µs) for a new item, one more on
    #: every later write (see :mod:`motia_django.store`).
    version = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = "stream item"
        constraints = [models.UniqueConstraint(fields=["stream", "group", "key"], name="motia_stream_unique_item")]
        indexes = [models.Index(fields=["stream", "group"], name="motia_stream_group")]
        ordering = ["stream", "group", "key"]

    def __str__(self) -> str:
        return f"{self.stream} / {self.group} / {self.key}"


class Execution(models.Model):
    """One attempt of one step at one input: the unit of a trace.

    Queue deliveries count their attempts here, so a message that keeps killing
    its worker still reaches the dead letters.
    """

    class Status(models.TextChoices):
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        SKIPPED = "skipped"
        DEAD = "dead"

    trace_id = models.CharField(max_length=128, db_index=True)
    step = models.CharField(max_length=255, db_index=True)
    trigger_type = models.CharField(max_length=16)
    binding = models.CharField(max_length=512)
    #: looked up with ``binding`` (the ``motia_exec_message`` index)
    message_id = models.CharField(max_length=64, blank=True)
    topic = models.CharField(max_length=255, blank=True)
    attempt = models.PositiveIntegerField(default=1)
    #: not indexed: too few values to narrow a query, and every index costs each traced request
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(db_index=True)
    duration_ms = models.FloatField(null=True, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["message_id", "binding"], name="motia_exec_message")]

    def __str__(self) -> str:
        return f"{self.step} #{self.attempt} {self.status}"


class DeadLetter(models.Model):
    """A message that exhausted its retries (or failed validation): kept for replay."""

    step = models.CharField(max_length=255, db_index=True)
    topic = models.CharField(max_length=255, blank=True, db_index=True)
    binding = models.CharField(max_length=512)
    message_id = models.CharField(max_length=64)
    trace_id = models.CharField(max_length=128, db_index=True)
    payload = models.JSONField(null=True, blank=True)
    envelope = models.JSONField()
    error = models.TextField()
    error_type = models.CharField(max_length=255, db_index=True)
    traceback = models.TextField(blank=True)
    attempts = models.PositiveIntegerField()
    first_attempt_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-failed_at"]

    def __str__(self) -> str:
        return f"{self.step} <- {self.topic or self.binding}: {self.error_type}"


class OutboxMessage(models.Model):
    """A message waiting to be handed to the broker.

    Written in the publisher's transaction and removed once the broker took it,
    so neither a rollback nor a broker outage loses or invents a message.  A
    sender claims rows (``claim``, ``claimed_until``) before sending them, so the
    publisher and the relay never both send one.
    """

    binding = models.CharField(max_length=512)
    queue = models.CharField(max_length=255)
    envelope = models.JSONField()
    eta = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    send_attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    claim = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["claim"], name="motia_outbox_claim")]

    def __str__(self) -> str:
        return f"{self.queue} {self.envelope.get('id', '')}"


class WaitingMessage(models.Model):
    """A message of a ``concurrency: N`` subscription waiting for a free slot, woken in publish order."""

    binding = models.CharField(max_length=512)
    message_id = models.CharField(max_length=64)
    envelope = models.JSONField()
    #: the envelope's ``enqueuedAt``: consumers side by side may park messages out of their publish order
    enqueued_at = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["enqueued_at", "id"]
        indexes = [models.Index(fields=["binding", "enqueued_at", "id"], name="motia_waiting_order")]
        constraints = [models.UniqueConstraint(fields=["binding", "message_id"], name="motia_waiting_unique")]


class FifoMessage(models.Model):
    """A message of a FIFO subscription, handled in ``id`` order within its group."""

    binding = models.CharField(max_length=512)
    group_id = models.CharField(max_length=255)
    envelope = models.JSONField()
    available_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["binding", "group_id", "id"], name="motia_fifo_order")]


class FifoGroup(models.Model):
    """The lease that lets one worker at a time drain a FIFO group."""

    binding = models.CharField(max_length=512)
    group_id = models.CharField(max_length=255)
    leased_until = models.DateTimeField(null=True, blank=True)
    holder = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["binding", "group_id"], name="motia_fifo_group_unique")]


class ConcurrencySlot(models.Model):
    """One of the N slots of a subscription with ``concurrency: N``."""

    binding = models.CharField(max_length=512)
    slot = models.PositiveIntegerField()
    leased_until = models.DateTimeField(null=True, blank=True)
    holder = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["binding", "slot"], name="motia_slot_unique")]


class Lease(models.Model):
    """A named job that one process at a time may do (the relay), held until ``leased_until``."""

    name = models.CharField(max_length=64, unique=True)
    holder = models.CharField(max_length=128, blank=True)
    leased_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name}: {self.holder or '-'}"


class ChangePayload(models.Model):
    """A state or stream change too large for a message; its trigger messages carry this row's id."""

    data = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)


class LogRecord(models.Model):
    """One ``ctx.logger`` record, kept so a trace shows what its executions logged."""

    trace_id = models.CharField(max_length=128, db_index=True)
    step = models.CharField(max_length=255)
    level = models.PositiveSmallIntegerField()
    message = models.TextField()
    data = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.step}: {self.message[:60]}"

    @property
    def level_name(self) -> str:
        return logging.getLevelName(self.level)


class TaskRecord(models.Model):
    """The result of one ``django.tasks`` task enqueued on ``motia_django.django_tasks.MotiaTaskBackend``.

    Written with the outbox row in the enqueuing transaction, so a rollback leaves neither;
    its attempts are the queue runtime's (``Execution`` rows of step ``task:<path>``).
    """

    class Status(models.TextChoices):
        #: the values of ``django.tasks.TaskResultStatus`` (Django 6), which this module must not import
        READY = "READY"
        RUNNING = "RUNNING"
        FAILED = "FAILED"
        SUCCESSFUL = "SUCCESSFUL"

    id = models.CharField(primary_key=True, max_length=64)
    backend = models.CharField(max_length=128)
    task_path = models.CharField(max_length=512, db_index=True)
    queue_name = models.CharField(max_length=255)
    priority = models.IntegerField(default=0)
    trace_id = models.CharField(max_length=128, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    return_value = models.JSONField(null=True, blank=True)
    #: ``{"exception_class_path", "traceback"}`` per failed attempt, oldest first
    errors = models.JSONField(default=list)
    #: one entry per attempt begun
    worker_ids = models.JSONField(default=list)
    enqueued_at = models.DateTimeField(db_index=True)
    run_after = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_attempted_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-enqueued_at"]

    def __str__(self) -> str:
        return f"{self.task_path} {self.id} {self.status}"


from .cron.models import CronTick  # noqa: E402,F401
