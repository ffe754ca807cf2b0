"""One validator for every schema a step declares: HTTP bodies, responses and queue input.

A schema is either a pydantic model class or a JSON Schema dict; both are
compiled once and report violations in the same shape.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema
import pydantic

__all__ = ["FieldError", "Schema", "SchemaViolation", "compile_schema", "schema_to_json_schema"]


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


class Schema:
    """A compiled schema: ``validate`` raises :class:`SchemaViolation`."""

    def __init__(self, source: Any) -> None:
        self.source = source
        if isinstance(source, type) and issubclass(source, pydantic.BaseModel):
            self._adapter: pydantic.TypeAdapter[Any] | None = pydantic.TypeAdapter(source)
            self._validator: jsonschema.protocols.Validator | None = None
        elif isinstance(source, dict):
            cls = jsonschema.validators.validator_for(source, default=jsonschema.Draft202012Validator)
            _check_schema(cls, source)
            self._adapter = None
            self._validator = cls(source, format_checker=cls.FORMAT_CHECKER)
        else:
            raise TypeError(
                f"a schema must be a pydantic model class or a JSON Schema dict, not {type(source).__name__}"
            )

    def validate(self, value: Any) -> None:
        if self._adapter is not None:
            try:
                self._adapter.validate_python(value)
            except pydantic.ValidationError as exc:
                raise SchemaViolation(
                    [FieldError(".".join(map(str, e["loc"])), e["msg"]) for e in exc.errors()]
                ) from None
            return
        assert self._validator is not None
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            raise SchemaViolation([FieldError(".".join(map(str, e.absolute_path)), e.message) for e in errors])

    def json_schema(self) -> dict[str, Any]:
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
    """The JSON Schema dict of a pydantic model class or a JSON Schema dict; ``None`` for anything else.

    As in Motia, where a value that is no schema (``None``, a callable) simply has no JSON Schema.
    A dict that is not a valid JSON Schema raises ``SchemaError``.
    """
    if isinstance(schema, dict) or (isinstance(schema, type) and issubclass(schema, pydantic.BaseModel)):
        return Schema(schema).json_schema()
    return None
