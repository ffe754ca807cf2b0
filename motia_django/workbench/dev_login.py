"""The development sign-in: on a ``DEBUG`` server, a browser on the same machine opens the workbench
without a superuser being created first.

Only when ``DEBUG`` is on and ``MOTIA["DEV_LOGIN"]`` is left on, and only for a
request from a loopback address, to a loopback host name, that no proxy
forwarded; it signs in (creating it once) the staff user ``motia-dev``, who has
no usable password.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model, login
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port

from ..conf import motia_settings

__all__ = ["DEV_USERNAME", "dev_login", "dev_login_allowed"]

DEV_USERNAME = "motia-dev"
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1", "[::1]"}
_PROXY_HEADERS = ("HTTP_X_FORWARDED_FOR", "HTTP_FORWARDED", "HTTP_X_REAL_IP")

View = Callable[..., HttpResponse]


def dev_login_allowed(request: HttpRequest) -> bool:
    """A development server, asked directly by a client on this machine."""
    if not (settings.DEBUG and motia_settings().DEV_LOGIN):
        return False
    if any(header in request.META for header in _PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    host, _ = split_domain_port(request.get_host())
    return address.is_loopback and host in _LOOPBACK_HOSTS


def dev_login(view: View) -> View:
    """Sign the development user in before ``view`` checks for staff, when :func:`dev_login_allowed`."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not getattr(request.user, "is_staff", False) and dev_login_allowed(request):
            user, created = get_user_model().objects.get_or_create(
                username=DEV_USERNAME, defaults={"is_staff": True, "is_superuser": True})
            if created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return view(request, *args, **kwargs)

    return wrapped
