"""Helpers imported by the test steps (not a step file itself)."""

from __future__ import annotations

from typing import Any


def global_marker(req: Any, ctx: Any, next_handler: Any) -> Any:
    """A global (sync) middleware: tags every response so tests can see it ran.

    Being sync, it keeps sync steps on the direct path and puts every async
    step through the sync-middleware-around-async-handler bridge.
    """
    response = next_handler(req, ctx)
    if isinstance(response, dict):
        response.setdefault("headers", {})["X-Global-Middleware"] = "1"
    elif response is not None:
        response.headers["X-Global-Middleware"] = "1"
    return response
