"""Motia 1.0.3+ step, in the shape of MotiaDev/motia (Apache-2.0)
``frameworks/motia/motia-py/playground/steps/conditions/api_with_conditions_step.py``: a condition
``(input, ctx)`` that reads the ``ApiRequest``, a one-argument handler and the module-level ``logger``."""

from typing import Any

from motia import ApiRequest, ApiResponse, FlowContext, http, logger


def is_verified_high_value(input: Any, ctx: FlowContext[Any]) -> bool:
    if not isinstance(input, ApiRequest):
        return False
    body = input.body or {}
    return body.get("amount", 0) > 1000 and body.get("user", {}).get("verified", False)


config = {
    "name": "rm-premium-order",
    "description": "Premium orders only",
    "triggers": [http("POST", "/rm/orders/premium", condition=is_verified_high_value)],
    "enqueues": [],
}


async def handler(request: ApiRequest[Any]) -> ApiResponse[Any]:
    logger.info("Processing premium order via API")
    return ApiResponse(status=200, body={"message": "Premium order processed", "data": request.body})
