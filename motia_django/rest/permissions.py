"""Who may use the operator REST API: by default staff holding the model permissions of what they touch."""

from __future__ import annotations

import functools
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.utils.module_loading import import_string
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from ..conf import motia_settings

__all__ = ["METHOD_VERBS", "ModelPermissions", "configured_permission_classes", "required_permissions"]

#: The model permission each method needs, as the admin names them: reading views, writing changes.
METHOD_VERBS = {"GET": "view", "HEAD": "view", "OPTIONS": "view", "POST": "change", "PUT": "change",
                "PATCH": "change", "DELETE": "delete"}


def required_permissions(request: Request, view: Any) -> list[str]:
    """``<app>.<verb>_<model>`` for each of the view's ``permission_models``.

    The verb is the action's own (``action_verbs``, e.g. replaying a dead letter
    removes it, so it takes ``delete``) or the method's.
    """
    method = request.method or ""
    verb = getattr(view, "action_verbs", {}).get(getattr(view, "action", None)) or METHOD_VERBS.get(method)
    if verb is None:
        raise MethodNotAllowed(method)
    models: tuple[type[Model], ...] = getattr(view, "permission_models", ())
    return [f"{model._meta.app_label}.{verb}_{model._meta.model_name}" for model in models]


class ModelPermissions(BasePermission):
    """A signed-in user holding every model permission the request needs (:func:`required_permissions`).

    Views without models (the step registry, flows) need no model permission.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.has_perms(required_permissions(request, view)))


@functools.cache
def _classes(paths: tuple[str, ...]) -> tuple[type[BasePermission], ...]:
    found = []
    for path in paths:
        try:
            found.append(import_string(path))
        except ImportError as exc:
            raise ImproperlyConfigured(f"MOTIA['REST_PERMISSION_CLASSES']: cannot import {path!r}: {exc}") from exc
    return tuple(found)


def configured_permission_classes() -> tuple[type[BasePermission], ...]:
    """``MOTIA["REST_PERMISSION_CLASSES"]``, imported (not ``REST_FRAMEWORK``'s defaults, which allow anyone)."""
    return _classes(motia_settings().REST_PERMISSION_CLASSES)
