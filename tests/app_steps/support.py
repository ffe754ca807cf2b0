"""Helpers imported by the test steps (not a step file itself)."""

from __future__ import annotations

from typing import Any


async def global_marker(req: Any, ctx: Any, next_handler: Any) -> Any:
    """A global middleware: tags every response so tests can see it ran."""
    response = await next_handler(req, ctx)
    if isinstance(response, dict):
        response.setdefault("headers", {})["X-Global-Middleware"] = "1"
    elif response is not None:
        response.headers["X-Global-Middleware"] = "1"
    return response
