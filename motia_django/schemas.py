"""One validator for every schema a step declares: HTTP bodies, responses and queue input.

A schema is a pydantic model class, a JSON Schema dict or a Django REST
framework ``Serializer`` class; all are compiled once and report violations in
the same shape.  A serializer is recognised without importing DRF (a step file
that names one has imported it), so this module stays importable without Django.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import jsonschema
import pydantic

__all__ = ["FieldError", "Schema", "SchemaViolation", "compile_schema", "is_serializer_class", "schema_to_json_schema"]


@dataclass(frozen=True)
class FieldError:
    path: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}


class SchemaViolation(ValueError):
    """Raised when a value does not match a step's schema."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{e.path or '<root>'}: {e.message}" for e in errors))


def is_serializer_class(source: Any) -> bool:
    """Whether ``source`` is a DRF serializer class."""
    serializers = sys.modules.get("rest_framework.serializers")
    return serializers is not None and isinstance(source, type) and issubclass(source, serializers.BaseSerializer)


def _serializer_errors(errors: Any, path: str = "") -> list[FieldError]:
    """DRF's nested ``{field: [messages]}`` (lists for ``many=True``) as dotted paths."""
    if isinstance(errors, dict):
        return [e for key, value in errors.items()
                for e in _serializer_errors(value, f"{path}.{key}" if path else str(key))]
    if isinstance(errors, list) and errors and all(isinstance(item, str) for item in errors):
        return [FieldError("" if path == "non_field_errors" else path, str(item)) for item in errors]
    if isinstance(errors, list):
        return [e for index, value in enumerate(errors)
                for e in _serializer_errors(value, f"{path}.{index}" if path else str(index))]
    return [FieldError(path, str(errors))]


class Schema:
    """A compiled schema: ``validate`` raises :class:`SchemaViolation`, else returns what the step gets."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.serializer: type[Any] | None = source if is_serializer_class(source) else None
        self._adapter: pydantic.TypeAdapter[Any] | None = None
        self._validator: jsonschema.protocols.Validator | None = None
        if isinstance(source, type) and issubclass(source, pydantic.BaseModel):
            self._adapter = pydantic.TypeAdapter(source)
        elif isinstance(source, dict):
            cls = jsonschema.validators.validator_for(source, default=jsonschema.Draft202012Validator)
            _check_schema(cls, source)
            self._validator = cls(source, format_checker=cls.FORMAT_CHECKER)
        elif self.serializer is None:
            raise TypeError(
                "a schema must be a pydantic model class, a JSON Schema dict or a DRF Serializer class, "
                f"not {type(source).__name__}"
            )

    def validate(self, value: Any) -> Any:
        """The value itself, or a serializer's ``validated_data`` (a serializer may query the database)."""
        if self.serializer is not None:
            serializer = self.serializer(data=value)
            if not serializer.is_valid():
                raise SchemaViolation(_serializer_errors(serializer.errors))
            return serializer.validated_data
        if self._adapter is not None:
            try:
                self._adapter.validate_python(value)
            except pydantic.ValidationError as exc:
                raise SchemaViolation(
                    [FieldError(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
                ) from None
            return value
        assert self._validator is not None
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise SchemaViolation([FieldError(".".join(map(str, e.absolute_path)), e.message) for e in errors])
        return value

    def json_schema(self) -> dict[str, Any]:
        if self.serializer is not None:
            from rest_framework.schemas.openapi import AutoSchema

            return {"title": self.serializer.__name__, **AutoSchema().map_serializer(self.serializer())}
        if self._adapter is not None:
            return self._adapter.json_schema()
        return dict(self.source)


_meta_validators: dict[Any, jsonschema.protocols.Validator] = {}


def _meta_validator(cls: type[jsonschema.protocols.Validator]) -> jsonschema.protocols.Validator:
    found = _meta_validators.get(cls)
    if found is None:
        meta = jsonschema.validators.validator_for(cls.META_SCHEMA, default=cls)
        found = _meta_validators[cls] = meta(cls.META_SCHEMA, format_checker=meta.FORMAT_CHECKER)
    return found


def _check_schema(cls: type[jsonschema.protocols.Validator], source: dict[str, Any]) -> None:
    """``cls.check_schema(source)``, with the metaschema's validator built once per draft, not per schema."""
    error = jsonschema.exceptions.best_match(_meta_validator(cls).iter_errors(source))
    if error is not None:
        raise jsonschema.exceptions.SchemaError.create_from(error)


def compile_schema(source: Any) -> Schema | None:
    """Compile ``source`` unless it is ``None``; bad schemas raise ``TypeError``/``SchemaError``."""
    return None if source is None else Schema(source)


def schema_to_json_schema(schema: Any) -> dict[str, Any] | None:
    """The JSON Schema dict of a pydantic model class, a JSON Schema dict or a serializer; ``None`` otherwise.

    As in Motia, where a value that is no schema (``None``, a callable) simply has no JSON Schema.
    A dict that is not a valid JSON Schema raises ``SchemaError``.
    """
    if (isinstance(schema, dict) or (isinstance(schema, type) and issubclass(schema, pydantic.BaseModel))
            or is_serializer_class(schema)):
        return Schema(schema).json_schema()
    return None
