"""An OpenAPI 3.1 document built from the registry's HTTP triggers.

Everything comes from what steps already declare (``body_schema``,
``response_schema``, ``query_params``, ``flows``, ``description``), so the
document cannot drift from the routes that are actually served.  The error
responses are the shapes the runtime itself sends (``docs/http.md``).
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Iterable
from http import HTTPStatus
from typing import Any

from django.conf import settings
from rest_framework.authentication import BasicAuthentication, SessionAuthentication, TokenAuthentication

from .. import __version__
from ..conf import motia_settings
from ..http.auth import policy_for
from ..registry import Binding, Registry
from ..schemas import Schema
from ..steps.triggers import ApiTrigger

__all__ = ["ERROR_SCHEMA", "openapi_document", "openapi_path", "operation_ids"]

_PARAM = re.compile(r":([^/]+)|\{([^/{}]+)\}")
_COMPONENT_NAME = re.compile(r"[^A-Za-z0-9._-]")
_LOCAL_DEFS = ("$defs", "definitions")

#: The body of every error response the runtime writes itself.
ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "traceId": {"type": "string"},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                "required": ["path", "message"],
            },
        },
        "detail": {"type": "string"},
    },
    "required": ["error"],
}

_ERROR_RESPONSES = {
    400: "Malformed JSON, or a body that breaks the body schema (`errors` lists each problem)",
    500: "The handler raised or returned nothing",
}


_POLICY_RESPONSES = {
    401: "Not authenticated, or the credentials were refused (see `WWW-Authenticate`)",
    403: "Authenticated but not permitted, or a session request failed the CSRF check",
    429: "Throttled (see `Retry-After`)",
}


def _security_scheme(authenticator: type) -> tuple[str, dict[str, Any]] | None:
    """The OpenAPI security scheme of a DRF authentication class; ``None`` for one it cannot describe."""
    if issubclass(authenticator, TokenAuthentication):
        keyword = str(getattr(authenticator, "keyword", "Token"))
        if keyword.lower() == "bearer":
            return "bearerAuth", {"type": "http", "scheme": "bearer"}
        return f"{keyword.lower()}Auth", {"type": "apiKey", "in": "header", "name": "Authorization",
                                          "description": f"`{keyword} <key>`"}
    if issubclass(authenticator, SessionAuthentication):
        return "sessionAuth", {"type": "apiKey", "in": "cookie", "name": settings.SESSION_COOKIE_NAME,
                               "description": "A signed-in session; unsafe methods also need `X-CSRFToken`"}
    if issubclass(authenticator, BasicAuthentication):
        return "basicAuth", {"type": "http", "scheme": "basic"}
    return None


def openapi_path(path: str) -> str:
    """``/todos/:id`` and ``/todos/{id}`` both become ``/todos/{id}``."""
    return _PARAM.sub(lambda m: "{" + (m.group(1) or m.group(2)) + "}", path)


def _trigger(binding: Binding) -> ApiTrigger:
    assert isinstance(binding.trigger, ApiTrigger)
    return binding.trigger


class _Components:
    """``components.schemas``: hoisted ``$defs`` and named models; a name taken by another schema gets ``_2``..."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {"Error": copy.deepcopy(ERROR_SCHEMA)}
        self.security_schemes: dict[str, Any] = {}

    def security(self, binding: Binding) -> list[dict[str, list[str]]] | None:
        """The route's security requirements (one alternative per authentication class), ``None`` if open."""
        policy = policy_for(binding)
        if policy is None:
            return None
        requirements: list[dict[str, list[str]]] = []
        for authenticator in policy.authentication_classes:
            found = _security_scheme(authenticator)
            if found is not None:
                self.security_schemes.setdefault(found[0], found[1])
                requirements.append({found[0]: []})
        return requirements

    def schema(self, compiled: Schema, fallback_name: str) -> dict[str, Any]:
        """A step schema as it can stand inside the document.

        JSON Schema resolves ``#/...`` against the document root, so local
        definitions move to ``components.schemas`` and their ``$ref``s follow;
        a schema that points into itself otherwise becomes a component too, as
        does every pydantic model (named after the model).
        """
        source = copy.deepcopy(compiled.json_schema())
        source.pop("$id", None)
        parts: dict[str, Any] = {}
        for key in _LOCAL_DEFS:
            for name, definition in (source.pop(key, None) or {}).items():
                parts[f"#/{key}/{name}"] = definition
        wanted = {pointer: pointer.rsplit("/", 1)[1] for pointer in parts}
        if (_is_model(compiled) and set(source) != {"$ref"}) or _points_at_root(source, parts):
            parts["#"] = source
            wanted["#"] = str(source.get("title") or fallback_name)
        attempt = dict.fromkeys(wanted, 1)
        while True:  # names and bodies depend on each other: bump clashing names until all fit
            names = {p: _component_name(wanted[p], attempt[p]) for p in wanted}
            renames = {p: f"#/components/schemas/{n}" for p, n in names.items() if p != "#"}
            root_ref = f"#/components/schemas/{names['#']}" if "#" in names else None
            bodies = {p: _rewrite(parts[p], renames, root_ref) for p in parts}
            taken = dict(self.schemas)
            clashes = []
            for pointer, name in names.items():
                if taken.setdefault(name, bodies[pointer]) != bodies[pointer]:
                    clashes.append(pointer)
            if not clashes:
                break
            for pointer in clashes:
                attempt[pointer] += 1
        self.schemas.update({names[p]: bodies[p] for p in parts})
        return {"$ref": root_ref} if root_ref else _rewrite(source, renames, None)


def _component_name(base: str, attempt: int) -> str:
    name = _COMPONENT_NAME.sub("_", base) or "Schema"
    return name if attempt == 1 else f"{name}_{attempt}"


def _is_model(compiled: Schema) -> bool:
    return not isinstance(compiled.source, dict)


def _refs(value: Any) -> Iterable[str]:
    if isinstance(value, dict):
        ref = value.get("$ref")
        if isinstance(ref, str):
            yield ref
        for item in value.values():
            yield from _refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _refs(item)


def _points_at_root(source: Any, hoisted: dict[str, Any]) -> bool:
    """Whether a ``$ref`` in the schema or its definitions points into the schema itself."""
    return any(
        ref.startswith("#") and not any(ref == p or ref.startswith(p + "/") for p in hoisted)
        for ref in _refs([source, *hoisted.values()])
    )


def _rewrite(value: Any, renames: dict[str, str], root_ref: str | None) -> Any:
    """Copy ``value`` with local ``$ref``s pointed at their new homes under ``components``."""
    if isinstance(value, list):
        return [_rewrite(item, renames, root_ref) for item in value]
    if not isinstance(value, dict):
        return value
    result = {key: _rewrite(item, renames, root_ref) for key, item in value.items()}
    ref = value.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        for pointer, target in renames.items():
            if ref == pointer or ref.startswith(pointer + "/"):
                result["$ref"] = target + ref[len(pointer):]
                break
        else:
            if root_ref is not None:
                result["$ref"] = root_ref + ref[1:]
    return result


def operation_ids(routes: list[Binding]) -> dict[Binding, str]:
    """The step name, plus the method when a step serves several routes (and the index if still ambiguous)."""
    per_step = Counter(b.step.name for b in routes)
    per_method = Counter((b.step.name, _trigger(b).method) for b in routes)
    ids: dict[Binding, str] = {}
    for binding in routes:
        name, method = binding.step.name, _trigger(binding).method
        if per_step[name] == 1:
            ids[binding] = name
        elif per_method[(name, method)] == 1:
            ids[binding] = f"{name}_{method.lower()}"
        else:
            ids[binding] = f"{name}_{method.lower()}_{binding.index}"
    return ids


def _response(description: str, schema: dict[str, Any] | None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description}
    if schema is not None:
        response["content"] = {"application/json": {"schema": schema}}
    return response


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"Status {status}"


def _operation(binding: Binding, operation_id: str, param_names: list[str], components: _Components,
               condition_status: int) -> dict[str, Any]:
    trigger = _trigger(binding)
    config = binding.step.config
    operation: dict[str, Any] = {"operationId": operation_id, "summary": config.description or binding.step.name}
    notes = [f"Step `{binding.step.name}`."]
    if trigger.middleware:
        notes.append(f"Runs {len(trigger.middleware)} middleware function(s), which may answer on their own.")
    if trigger.condition is not None:
        notes.append(f"Runs only when the trigger's condition holds; otherwise answers {condition_status}.")
    operation["description"] = " ".join(notes)
    if config.flows:
        operation["tags"] = list(config.flows)
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in param_names
    ]
    for query in trigger.query_params or ():
        parameter: dict[str, Any] = {"name": query.name, "in": "query", "required": False, "schema": {"type": "string"}}
        if query.description:
            parameter["description"] = query.description
        parameters.append(parameter)
    if parameters:
        operation["parameters"] = parameters
    if trigger.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": components.schema(trigger.body, f"{operation_id}_body")}},
        }
    responses: dict[str, Any] = {}
    for status, schema in sorted(trigger.responses.items()):
        responses[str(status)] = _response(_phrase(status), components.schema(schema, f"{operation_id}_{status}"))
    if not any(200 <= status < 300 for status in trigger.responses):
        responses["default"] = {"description": "What the handler returns (no response_schema declared for it)"}
    error = {"$ref": "#/components/schemas/Error"}
    errors = dict(_ERROR_RESPONSES)
    security = components.security(binding)
    if security is not None:
        errors.update(_POLICY_RESPONSES)
        if security:
            operation["security"] = security
    if trigger.condition is not None:
        errors[condition_status] = "The trigger's condition did not accept the request"
    for status, description in errors.items():
        responses.setdefault(str(status), _response(description, error))
    operation["responses"] = dict(sorted(responses.items(), key=lambda item: (item[0] == "default", item[0])))
    return operation


def openapi_document(registry: Registry, base_url: str = "/", *, title: str = "Motia steps",
                     version: str = __version__) -> dict[str, Any]:
    """The OpenAPI 3.1.0 document of every HTTP trigger in ``registry``, served from ``base_url``.

    Routes of one path shape share a path item (OpenAPI forbids two templates
    differing only in parameter names), named after the first route declared;
    the other routes' parameters are positional, so they read the same values.
    """
    routes = list(registry.routes)
    ids = operation_ids(routes)
    condition_status = motia_settings().HTTP_CONDITION_FAILED_STATUS
    components = _Components()
    paths: dict[str, dict[str, Any]] = {}
    shapes: dict[str, str] = {}
    tags: dict[str, None] = {}
    for binding in routes:
        trigger = _trigger(binding)
        key = shapes.setdefault(trigger.route_shape, openapi_path(trigger.path))
        names = [m.group(1) or m.group(2) for m in _PARAM.finditer(key)]
        operation = _operation(binding, ids[binding], names, components, condition_status)
        paths.setdefault(key, {})[trigger.method.lower()] = operation
        tags.update(dict.fromkeys(operation.get("tags", ())))
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "servers": [{"url": base_url}],
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": components.schemas},
    }
    if components.security_schemes:
        document["components"]["securitySchemes"] = dict(sorted(components.security_schemes.items()))
    if tags:
        document["tags"] = [{"name": tag} for tag in sorted(tags)]
    return document
