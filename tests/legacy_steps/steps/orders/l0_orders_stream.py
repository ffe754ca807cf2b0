"""A Motia 0.x stream file: a dict config with ``baseConfig`` and ``canAccess``."""

from typing import Any


def can_access(subscription: Any, auth_context: Any) -> bool:
    return auth_context is not None and subscription["groupId"] == f"customer-{auth_context['userId']}"


config = {
    "name": "l0Orders",
    "schema": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "status": {"type": "string"}, "total": {"type": "integer"}},
        "required": ["id", "status"],
    },
    "baseConfig": {"storageType": "default"},
    "canAccess": can_access,
}
