"""Motia 0.x ``noop`` step (the shape of the noop steps in Motia 0.x's docs and templates): a
person's part of the flow, drawn with its virtual topics, never run."""

config = {
    "type": "noop",
    "name": "rm-ingestion-review",
    "description": "Someone reads the notification",
    "virtualSubscribes": ["rm-send-notification"],
    "virtualEmits": [],
    "flows": ["rm-ingestion"],
}
