"""Streams of the secure-by-default tests (``tests/test_security.py``)."""

from __future__ import annotations

from typing import Any

from motia import StreamConfig


def staff_only(subscription: Any, auth_context: Any) -> bool:
    """Without an authenticate hook the context is the session's Django user."""
    return bool(getattr(auth_context, "is_staff", False))


#: No ``can_access``: open on a development server only.
plain = StreamConfig(name="secure-plain")
#: Joined by staff users signed in through the session cookie.
staff = StreamConfig(name="secure-staff", can_access=staff_only)
