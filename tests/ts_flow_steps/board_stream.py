"""The stream the TypeScript board step writes and the JavaScript stream-trigger step watches."""

from __future__ import annotations

config = {
    "name": "tsf-board",
    "schema": {"type": "object", "properties": {"title": {"type": "string"}}, "required": ["title"]},
    "canAccess": lambda subscription, auth_context: True,
}
