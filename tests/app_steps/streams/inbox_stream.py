"""A private stream as a Motia-style dict: a user may only watch the group named after them."""


def owner_only(subscription, auth_context):
    return auth_context is not None and auth_context["user"] == subscription["groupId"]


config = {
    "name": "inbox",
    "schema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
    "baseConfig": {"storageType": "default"},
    "canAccess": owner_only,
}
