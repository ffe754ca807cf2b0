"""The record that makes every cron tick run once, however many beats produce it."""

from __future__ import annotations

from django.db import models

__all__ = ["CronTick"]


class CronTick(models.Model):
    """One scheduled time of one cron trigger that was handed to the queue runtime.

    The unique ``(binding, scheduled_at)`` pair is the lock: a second beat sending
    the same tick fails the insert and drops its copy.
    """

    binding = models.CharField(max_length=512)
    scheduled_at = models.DateTimeField()
    produced_at = models.DateTimeField(auto_now_add=True)
    message_id = models.CharField(max_length=64, db_index=True)
    trace_id = models.CharField(max_length=128)

    class Meta:
        app_label = "motia_django"
        ordering = ["-scheduled_at"]
        constraints = [models.UniqueConstraint(fields=["binding", "scheduled_at"], name="motia_cron_tick_once")]

    def __str__(self) -> str:
        return f"{self.binding} @ {self.scheduled_at.isoformat()}"
