"""The binding a message names: a discovered step's, else one a Django task backend runs here.

Django 6's task backends that run their tasks through this runtime
(``motia_django.django_tasks``) are *binding sources*: they answer for the keys
the registry does not know, and name the queues a worker consumes for them.
Nothing here imports ``django.tasks`` unless ``TASKS`` is set.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from django.conf import settings

from ..registry import Binding, get_registry

__all__ = ["BindingSource", "extra_queues", "find_binding"]


@runtime_checkable
class BindingSource(Protocol):
    def binding_for(self, key: str) -> Binding | None:
        """The binding of ``key`` if this source owns it."""

    def celery_queues(self) -> list[str]:
        """The queues its messages travel on."""


def _sources() -> list[BindingSource]:
    if not getattr(settings, "TASKS", None):
        return []
    try:
        from django.tasks import task_backends
    except ImportError:  # Django before 6.0 has no task backends
        return []
    return [backend for backend in task_backends.all() if isinstance(backend, BindingSource)]


def find_binding(key: str) -> Binding | None:
    """The binding a message names, or ``None`` when this process does not know it (another release's)."""
    found = get_registry().binding(key)
    if found is None:
        for source in _sources():
            found = source.binding_for(key)
            if found is not None:
                break
    return found


def extra_queues() -> list[str]:
    """The queues of the binding sources, which a worker consumes beside the steps'."""
    return sorted({queue for source in _sources() for queue in source.celery_queues()})
