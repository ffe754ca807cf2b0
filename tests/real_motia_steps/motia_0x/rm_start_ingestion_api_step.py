"""Motia 0.x ``api`` step, in the shape of MotiaDev/motia-examples (MIT)
``examples/monitoring-and-alerts/car-alert/steps/connected_car/webhook_step.py``: a pydantic
``bodySchema``, ``req.get("body")``, ``await context.state.set`` (whose result, the stored value,
is used), ``await context.emit`` and an error answered as a 500 dict."""

import uuid

from pydantic import BaseModel, Field


class StartIngestion(BaseModel):
    documents: list[str] = Field(..., min_length=1)
    property_id: str
    ingestion_id: str | None = None


config = {
    "type": "api",
    "name": "rm-start-ingestion",
    "description": "Start an ingestion job and notify",
    "path": "/rm/ingest",
    "method": "POST",
    "emits": ["rm-send-notification"],
    "flows": ["rm-ingestion"],
    "bodySchema": StartIngestion.model_json_schema(),
}


async def handler(req, context):
    try:
        request = StartIngestion(**req.get("body", {}))
        ingestion_id = request.ingestion_id or str(uuid.uuid4())
        job = await context.state.set("rm-ingestion-jobs", ingestion_id, {
            "status": "processing",
            "documents": request.documents,
        })
        await context.emit({
            "topic": "rm-send-notification",
            "data": {"type": "ingestion_started", "property_id": request.property_id,
                     "ingestion_id": ingestion_id, "document_count": len(job["documents"])},
        })
        return {"status": 202, "body": {"ingestion_id": ingestion_id, "job": job}}
    except Exception as e:
        context.logger.error("Failed to start ingestion", {"error": str(e)})
        return {"status": 500, "body": {"error": str(e)}}
