"""Turn what a handler returns into a Django response."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pydantic
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse

from ..steps.io import ApiResponse

__all__ = ["MotiaJSONEncoder", "json_response", "normalize_response", "render_response"]

_RESPONSE_KEYS = {"status", "body", "headers"}


class MotiaJSONEncoder(DjangoJSONEncoder):
    """Django's encoder plus pydantic models and dataclasses."""

    def default(self, o: Any) -> Any:
        if isinstance(o, pydantic.BaseModel):
            return o.model_dump(mode="json")
        if dataclasses.is_dataclass(o) and not isinstance(o, type):
            return dataclasses.asdict(o)
        return super().default(o)


_ENCODER = MotiaJSONEncoder(separators=(",", ":"))


def dumps(value: Any) -> bytes:
    return _ENCODER.encode(value).encode()


def json_response(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> HttpResponse:
    response = HttpResponse(dumps(payload), status=status, content_type="application/json")
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def normalize_response(result: Any) -> ApiResponse[Any]:
    """Accept ``ApiResponse`` or a dict with ``status``/``body``/``headers``."""
    if isinstance(result, ApiResponse):
        return result
    if isinstance(result, Mapping) and "status" in result and set(result) <= _RESPONSE_KEYS:
        return ApiResponse(int(result["status"]), result.get("body"), dict(result.get("headers") or {}))
    if result is None:
        raise TypeError("the HTTP handler returned nothing; return ApiResponse(status, body) or a dict with 'status'")
    raise TypeError(
        f"the HTTP handler returned {type(result).__name__}; return ApiResponse(status, body) or a dict "
        "with 'status', 'body' and 'headers'"
    )


def render_response(response: ApiResponse[Any]) -> HttpResponse:
    """JSON-encode the body unless it is bytes, or a str sent with a non-JSON content type."""
    headers = {str(k): str(v) for k, v in response.headers.items()} if response.headers else {}
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None) if headers else None
    body = response.body
    if body is None:
        content = b""
    elif isinstance(body, bytes | bytearray):
        content = bytes(body)
    elif isinstance(body, str) and content_type and "json" not in content_type.lower():
        content = body.encode()
    else:
        content = dumps(body)
        content_type = content_type or "application/json"
    http_response = HttpResponse(content, status=response.status, content_type=content_type)
    for key, value in headers.items():
        http_response[key] = value
    return http_response
