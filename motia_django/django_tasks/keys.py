"""The names of a task's binding: its key and topic (kept apart, so results can read keys without the runner)."""

from __future__ import annotations

import re

__all__ = ["parse_key", "topic_for"]

_KEY = re.compile(r"^task:(?P<path>[^#]+)#queue:task\.(?P<alias>[^.]+)\.(?P<queue>.+)$")


def topic_for(alias: str, queue_name: str) -> str:
    """``task.<alias>.<queue_name>``: Celery queue ``motia.task.<alias>.<queue_name>``."""
    return f"task.{alias}.{queue_name}"


def parse_key(key: str) -> tuple[str, str, str] | None:
    """``(alias, task path, queue name)`` of a task binding's key (``task:<path>#queue:<topic>``); else ``None``."""
    match = _KEY.match(key)
    return (match["alias"], match["path"], match["queue"]) if match else None
