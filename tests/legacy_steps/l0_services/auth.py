"""Motia 0.x middleware, written as its tutorials write them: ``(req, context, next_fn)`` on a dict."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["require_customer", "stamp_reader"]


async def require_customer(req: dict[str, Any], context: Any, next_fn: Callable[[], Awaitable[Any]]) -> Any:
    """Refuse requests without ``X-Customer``; name the customer for the handler, and stamp the response."""
    customer = req["headers"].get("x-customer")
    if not customer:
        return {"status": 401, "body": {"error": "missing X-Customer"}}
    req["customer"] = customer
    response = await next_fn()
    response["headers"]["X-L0-Checked"] = "yes"
    return response


def stamp_reader(req: dict[str, Any], context: Any, next_fn: Callable[[], Any]) -> Any:
    """A sync middleware: who reads, from a query parameter, for the handler."""
    req["reader"] = req["queryParams"].get("reader", "anonymous")
    return next_fn()
