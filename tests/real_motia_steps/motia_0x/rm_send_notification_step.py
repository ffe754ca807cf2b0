"""Motia 0.x ``event`` step, in the shape of MotiaDev/motia-examples (MIT)
``examples/rag-and-search/rag-applications/airbnb-property-guest-assistant/steps/notifications/send_notification_step.py``:
``subscribes``, an ``input`` JSON Schema, ``input_data.get``, ``os.getenv`` for the mail key and
``context.logger.warn`` when it is missing. Instead of sending mail it records what it would send,
through the module-level ``stateManager`` of Motia 1.0.3 (a 0.x handler may use it too)."""

import os

from pydantic import BaseModel

from motia import stateManager


class NotificationInput(BaseModel):
    type: str
    property_id: str
    ingestion_id: str | None = None
    document_count: int | None = None
    recipients: list[str] | None = None


config = {
    "name": "rm-send-notification",
    "type": "event",
    "description": "Send email notifications",
    "subscribes": ["rm-send-notification"],
    "emits": [],
    "flows": ["rm-ingestion"],
    "input": NotificationInput.model_json_schema(),
}


async def handler(input_data, context):
    notification_type = input_data.get("type")
    context.logger.info("Sending notification", {"type": notification_type})
    if not os.getenv("RM_RESEND_API_KEY"):
        context.logger.warn("RM_RESEND_API_KEY not configured, skipping notification")
    await stateManager.set("rm-notifications", input_data["ingestion_id"], {
        "type": notification_type,
        "status": "sent",
        "documents": input_data.get("document_count"),
        "traceId": context.trace_id,
        "flows": context.flows,
    })
