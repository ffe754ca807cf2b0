"""Motia 1.0.3+ step in the shape of the module-level API examples of Motia 1.0.3's docs: a sync
one-argument queue handler using ``stateManager`` and ``logger``, here on the topic a Motia 0.x
step (``rm-start-ingestion``) emits: the two styles meet on one topic."""

from typing import Any

from motia import logger, queue, stateManager

config = {
    "name": "rm-sync-ingestion",
    "description": "Mark an ingestion job done",
    "triggers": [queue("rm-send-notification")],
    "enqueues": [],
    "flows": ["rm-ingestion"],
}


def handler(message: dict[str, Any]) -> None:
    job = stateManager.get("rm-ingestion-jobs", message["ingestion_id"])
    stateManager.set("rm-ingestion-jobs", message["ingestion_id"], {**job, "status": "completed"})
    logger.info("ingestion completed", {"ingestion_id": message["ingestion_id"]})
