"""Who is calling an HTTP step: the user, CSRF for session cookies, and Django REST framework policies.

Every request gets a user and an auth value (``req.user``, ``req.auth``):
Django's own (``request.user`` from ``AuthenticationMiddleware``, anonymous
without it) unless the route runs DRF authentication, whose authenticated user
and token win.  A request whose user comes from the session cookie must pass
Django's CSRF check, as DRF's ``SessionAuthentication`` demands; header-token
and anonymous calls need not.

DRF policies run as an ``APIView`` runs them (``perform_authentication``,
``check_permissions``, ``check_throttles``) on a DRF ``Request`` around the
Django request; a failure answers 401 (with ``WWW-Authenticate``), 403 or 429
(with ``Retry-After``) in the project's error shape.  The trigger's
``*_classes`` apply; a trigger naming none takes ``REST_FRAMEWORK``'s defaults
only under ``MOTIA["HTTP_DRF_DEFAULTS"]``; one naming some takes the defaults for the
others, as an ``APIView`` does.
"""

from __future__ import annotations

import contextlib
import functools
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured, RequestDataTooBig
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from rest_framework import exceptions
from rest_framework.authentication import CSRFCheck
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from ..conf import motia_settings
from ..registry import Binding
from ..steps.triggers import ApiTrigger
from .response import json_response

__all__ = ["Caller", "Policy", "identify", "needs_sync_thread", "policy_for"]

_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_POLICY_KINDS = ("authentication_classes", "permission_classes", "throttle_classes")


@dataclass(frozen=True)
class Caller:
    """The user and auth value a handler reads as ``req.user`` and ``req.auth``."""

    user: Any
    auth: Any = None


def _resolve(trigger: ApiTrigger, kind: str, drf_defaults: bool) -> list[type]:
    """The trigger's classes of one kind; unset, ``REST_FRAMEWORK``'s defaults, as an ``APIView`` takes them,
    when the trigger runs DRF at all (it names a policy, or ``HTTP_DRF_DEFAULTS`` is on)."""
    declared: list[Any] | None = getattr(trigger, kind)
    if declared is None:
        uses_drf = trigger.has_drf_policy or drf_defaults
        return list(getattr(api_settings, f"DEFAULT_{kind.upper()}")) if uses_drf else []
    classes = []
    for item in declared:
        try:
            classes.append(import_string(item) if isinstance(item, str) else item)
        except ImportError as exc:
            raise ImproperlyConfigured(f"{trigger.method} {trigger.path}: {kind} names {item!r}: {exc}") from exc
    return classes


class Policy:
    """One route's DRF authentication, permission and throttle classes, checked by an ``APIView``."""

    def __init__(self, view_class: type[APIView]) -> None:
        self.view_class = view_class

    @property
    def authentication_classes(self) -> list[type]:
        return list(self.view_class.authentication_classes)

    def check(self, request: HttpRequest, path_params: dict[str, str], trace_id: str) -> Caller | HttpResponse:
        """The authenticated caller, or the 401/403/429 answer."""
        view = self.view_class(args=(), kwargs=path_params, request=request, format_kwarg=None)
        with contextlib.suppress(RequestDataTooBig):  # answered 413 when the step reads it
            request.body  # noqa: B018  # cached first: DRF's CSRF check may parse it, the step reads it after
        drf_request = Request(request, parsers=view.get_parsers(), authenticators=view.get_authenticators())
        view.request = drf_request
        try:
            view.perform_authentication(drf_request)
            view.check_permissions(drf_request)
            view.check_throttles(drf_request)
        except exceptions.APIException as exc:
            return _refusal(view, drf_request, exc, trace_id)
        return Caller(drf_request.user, drf_request.auth)


def _refusal(view: APIView, request: Request, exc: exceptions.APIException, trace_id: str) -> HttpResponse:
    """DRF's own statuses (``APIView.handle_exception``), in the project's error shape."""
    headers: dict[str, str] = {}
    status = exc.status_code
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        challenge = view.get_authenticate_header(request)
        if challenge:
            headers["WWW-Authenticate"] = challenge
        else:
            status = 403
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(math.ceil(exc.wait))
    detail = exc.detail
    payload = {"error": str(detail), "code": getattr(detail, "code", exc.default_code), "traceId": trace_id}
    return json_response(status, payload, headers)


def policy_for(binding: Binding) -> Policy | None:
    """The route's policy; ``None`` when it runs no DRF class at all."""
    return _policy(binding, motia_settings().HTTP_DRF_DEFAULTS)


@functools.lru_cache(maxsize=1024)
def _policy(binding: Binding, drf_defaults: bool) -> Policy | None:
    trigger = binding.trigger
    assert isinstance(trigger, ApiTrigger)
    classes = {kind: _resolve(trigger, kind, drf_defaults) for kind in _POLICY_KINDS}
    if not any(classes.values()):
        return None
    view_class = type(f"Policy_{trigger.method}_{trigger.route_shape}", (APIView,), classes)
    return Policy(view_class)


@receiver(setting_changed)
def _forget_policies(*, setting: str, **_: Any) -> None:
    """``REST_FRAMEWORK``'s defaults changed (``override_settings``): build the policies again."""
    if setting == "REST_FRAMEWORK":
        _policy.cache_clear()


def _session_user(request: HttpRequest) -> bool:
    """Whether the request may carry a session user (reading it costs a database query)."""
    return settings.SESSION_COOKIE_NAME in request.COOKIES and hasattr(request, "user")


def needs_sync_thread(request: HttpRequest, policy: Policy | None) -> bool:
    """Whether :func:`identify` may touch the database, so async code must call it in a sync thread."""
    return policy is not None or _session_user(request)


def identify(request: HttpRequest, policy: Policy | None, path_params: dict[str, str],
             trace_id: str) -> Caller | HttpResponse:
    """The caller of a step route, or the answer refusing the request (sync: it may query the database)."""
    if policy is not None:
        return policy.check(request, path_params, trace_id)
    if not _session_user(request):
        return Caller(getattr(request, "user", None) or AnonymousUser())
    user = request.user
    if user.is_authenticated and user.is_active and request.method not in _SAFE_METHODS:  # read here, in sync code
        reason = _csrf_failure(request)
        if reason is not None:
            return json_response(403, {"error": f"CSRF Failed: {reason}", "code": "permission_denied",
                                       "traceId": trace_id})
    return Caller(user)


def _csrf_failure(request: HttpRequest) -> str | None:
    """Django's CSRF check as DRF's ``SessionAuthentication.enforce_csrf`` runs it: the reason it fails."""
    check = CSRFCheck(lambda _: HttpResponse())
    check.process_request(request)
    reason = check.process_view(request, None, (), {})  # DRF's check returns the reason, not a response
    return None if reason is None else str(reason)
