"""Motia 0.x ``api`` step, in the shape of MotiaDev/motia-examples (MIT)
``examples/rag-and-search/rag-applications/airbnb-property-guest-assistant/steps/ingestion/get_ingestion_status_api_step.py``:
a path parameter, ``queryParams: []``, pydantic JSON Schemas per status, ``req.get("pathParams")``."""


from pydantic import BaseModel


class IngestionStatus(BaseModel):
    ingestion_id: str
    status: str
    documents: list[str]


class ErrorBody(BaseModel):
    error: str


config = {
    "name": "rm-ingestion-status",
    "type": "api",
    "description": "Status of one ingestion job",
    "path": "/rm/ingest/:ingestion_id",
    "method": "GET",
    "emits": [],
    "flows": ["rm-ingestion"],
    "responseSchema": {200: IngestionStatus.model_json_schema(), 404: ErrorBody.model_json_schema()},
    "queryParams": [],
}


async def handler(req, context):
    ingestion_id = req.get("pathParams", {}).get("ingestion_id")
    context.logger.info("Fetching ingestion status", {"ingestion_id": ingestion_id})
    job = await context.state.get("rm-ingestion-jobs", ingestion_id)
    if not job:
        return {"status": 404, "body": {"error": f"Ingestion job not found: {ingestion_id}"}}
    job = job.get("data", job) if isinstance(job, dict) else job  # as the example unwraps Motia's state
    return {"status": 200, "body": {"ingestion_id": ingestion_id, "status": job["status"],
                                    "documents": job["documents"]}}
