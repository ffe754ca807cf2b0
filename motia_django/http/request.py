"""Turn a Django ``HttpRequest`` into the ``ApiRequest`` a handler reads."""

from __future__ import annotations

import json
from functools import cached_property
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpRequest

from ..steps.io import ApiRequest, Headers, RequestBody

__all__ = ["BodyTooLarge", "DjangoApiRequest", "MalformedBody", "UnsupportedContentType", "accepts_media_type",
           "build_api_request", "is_json_content_type"]


MAX_JSON_DEPTH = 512
"""Bodies nested deeper are refused on every Python: the parser of 3.11 and 3.12 stops near 1,000 levels
and that of 3.13 near 10,000, and the schemas, steps and stores that walk a body recurse."""


class MalformedBody(ValueError):
    """The request declared JSON but its body does not parse."""


class UnsupportedContentType(ValueError):
    """The body's media type is not one the route accepts (415).

    A body with no ``Content-Type`` is never taken for JSON: a cross-site page can
    send one with the visitor's cookies and no CORS preflight.
    """


class BodyTooLarge(ValueError):
    """The body is over ``DATA_UPLOAD_MAX_MEMORY_SIZE``."""


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def is_json_content_type(content_type: str) -> bool:
    media = _media_type(content_type)
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


def accepts_media_type(content_type: str, accepted: list[str] | None) -> bool:
    """Whether a route taking ``accepted`` (JSON when ``None``) takes a body of ``content_type``."""
    if accepted is None:
        return is_json_content_type(content_type)
    media = _media_type(content_type)
    if not media:
        return "*/*" in accepted
    family = media.split("/", 1)[0]
    return any(pattern in ("*/*", media, f"{family}/*") for pattern in accepted)


class DjangoApiRequest(ApiRequest[Any]):
    """An ``ApiRequest`` that reads headers and query params from Django only when a step asks."""

    def __init__(self, request: HttpRequest, path_params: dict[str, str], body: object, raw: bytes,
                 user: Any = None, auth: Any = None) -> None:
        # the dataclass __init__ is bypassed on purpose: headers and query params are lazy
        self._django = request
        self.path_params = path_params
        self.body = body
        self.raw_body = raw
        self.method = request.method or "GET"
        self.path = request.path
        self.user = user
        self.auth = auth

    @cached_property
    def headers(self) -> Headers:  # type: ignore[override]
        return Headers(self._django.headers)

    @cached_property
    def request_body(self) -> RequestBody:
        return RequestBody(self.raw_body)

    @cached_property
    def query_params(self) -> dict[str, str | list[str]]:  # type: ignore[override]
        return {key: values[0] if len(values) == 1 else list(values) for key, values in self._django.GET.lists()}


def _reject_lone_surrogates(body: object) -> None:
    """``"\\ud800"`` parses, but is no character: nothing could encode or store it."""
    try:
        json.dumps(body, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        raise MalformedBody("request body contains an unpaired UTF-16 surrogate escape") from None


def _nests_too_deep(body: object) -> bool:
    """Walked without recursion, so that any depth the parser accepts is measured."""
    pending: list[tuple[object, int]] = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            value = value.values()
        elif not isinstance(value, list):
            continue
        if depth > MAX_JSON_DEPTH:
            return True
        pending.extend((child, depth + 1) for child in value)
    return False


def build_api_request(request: HttpRequest, path_params: dict[str, str],
                      content_types: list[str] | None = None, user: Any = None, auth: Any = None) -> ApiRequest[Any]:
    """Parse JSON bodies (or keep the other ``content_types`` raw), query params and headers."""
    if isinstance(request, WSGIRequest) and not request.META.get("CONTENT_LENGTH"):
        raw = b""  # what Django would read: under WSGI a body needs a length
    else:
        try:
            raw = request.body
        except RequestDataTooBig as exc:
            raise BodyTooLarge(str(exc)) from None
    body: object = None
    if raw:
        content_type = request.META.get("CONTENT_TYPE", "")
        if not accepts_media_type(content_type, content_types):
            raise UnsupportedContentType(_media_type(content_type))
        if is_json_content_type(content_type):
            try:
                body = json.loads(raw)
            except (ValueError, RecursionError) as exc:  # bad UTF-8 or JSON, nesting or number limits
                raise MalformedBody(f"request body is not valid JSON: {exc}") from None
            # only a body with that many brackets can nest that deep, and counting them is cheap
            if raw.count(b"[") + raw.count(b"{") > MAX_JSON_DEPTH and _nests_too_deep(body):
                raise MalformedBody(f"request body nests deeper than {MAX_JSON_DEPTH} levels")
            if b"\\ud" in raw.lower():
                _reject_lone_surrogates(body)
        else:
            body = raw
    return DjangoApiRequest(request, path_params, body, raw, user, auth)
