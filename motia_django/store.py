"""The storage shared by ``ctx.state`` and streams: JSON values by group and key.

``update`` applies its operations under a row lock inside one transaction, so
concurrent writers never lose each other's changes (``SELECT ... FOR UPDATE`` on
PostgreSQL; on SQLite, a write transaction, with ``transaction_mode=IMMEDIATE``).
The store itself is sync; :mod:`.state` and :mod:`.streams` make its methods
awaitable from async code.

Versioned rows (stream items) get their version in the same transaction and the
same INSERT or UPDATE as their value: one more than the locked row's on an
update, one more again on a delete (for its frame), and, for a new row, the
database clock (:func:`database_clock`), so that an item deleted and created
again never goes back to versions its earlier life used.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, connections, router, transaction

from .conf import motia_settings

if TYPE_CHECKING:
    from .models import KeyedValue

__all__ = ["InvalidOperation", "JsonStore", "SetResult", "ValueTooLarge", "apply_operations", "database_clock"]

_List = list  # JsonStore.list shadows the builtin inside the class


def database_clock(using: str) -> int:
    """Microseconds since the epoch by the database's clock: the same for every process that uses it.

    PostgreSQL asks the server.  SQLite runs inside each process, on the one host that
    holds the file, so its clock is this process's.
    """
    connection = connections[using]
    if connection.vendor != "postgresql":
        return time.time_ns() // 1000
    with connection.cursor() as cursor:
        cursor.execute("SELECT (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::bigint")
        row = cursor.fetchone()
    return int(row[0])


class InvalidOperation(ValueError):
    """A bad value, key or update operation; nothing was written."""


class ValueTooLarge(InvalidOperation):
    """A value over ``MOTIA["MAX_VALUE_BYTES"]``; nothing was written.

    Without a cap one request could fill the database, and every stream
    subscriber would be sent the whole value.
    """


@dataclass(frozen=True)
class SetResult:
    """The value before and after a write (``old_value`` is ``None`` on create)."""

    old_value: Any
    new_value: Any

    def __getitem__(self, key: str) -> Any:
        return {"old_value": self.old_value, "new_value": self.new_value, "oldValue": self.old_value,
                "newValue": self.new_value}[key]


def _check_json(value: Any) -> int:
    """Refuse what cannot be stored; the value's size in bytes as JSON."""
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidOperation(f"value is not JSON-serialisable: {exc}") from None
    if "\\u0000" in encoded:
        # PostgreSQL's jsonb cannot hold it; refuse it on every database alike
        raise InvalidOperation("value contains a NUL character (\\u0000), which cannot be stored")
    return len(encoded)  # ASCII: non-ASCII characters are escaped


def _storable(value: Any) -> Any:
    """``value``, once it is known to be storable and to fit under ``MAX_VALUE_BYTES``."""
    limit = motia_settings().MAX_VALUE_BYTES
    size = _check_json(value)
    if size > limit:
        raise ValueTooLarge(f"value is {size} bytes as JSON, over the {limit}-byte limit (MOTIA['MAX_VALUE_BYTES'])")
    return value


def _check_name(kind: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidOperation(f"{kind} must be a non-empty string, got {value!r}")
    if len(value) > 255:
        raise InvalidOperation(f"{kind} is longer than 255 characters")
    return value


def _walk(root: Any, path: str, create: bool) -> tuple[dict[str, Any], str]:
    parts = path.split(".")
    node = root
    for depth, part in enumerate(parts[:-1]):
        if not isinstance(node, dict):
            raise InvalidOperation(f"path {path!r} goes through a non-object at {'.'.join(parts[:depth]) or '<root>'}")
        if part not in node and create:
            node[part] = {}
        node = node.get(part)
    if not isinstance(node, dict):
        raise InvalidOperation(f"path {path!r} goes through a non-object at {'.'.join(parts[:-1]) or '<root>'}")
    return node, parts[-1]


def apply_operations(value: Any, operations: Sequence[Mapping[str, Any]]) -> Any:
    """Apply ``set``/``merge``/``increment``/``decrement``/``remove`` ops to a copy of ``value``."""
    if not isinstance(operations, Sequence) or isinstance(operations, str | bytes):
        raise InvalidOperation("update operations must be a list of {'type', 'path', 'value'} dicts")
    result = json.loads(json.dumps(value))
    for op in operations:
        if not isinstance(op, Mapping) or "type" not in op:
            raise InvalidOperation(f"invalid update operation {op!r}")
        kind, path, operand = op["type"], op.get("path") or "", op.get("value")
        _check_json(operand)
        if kind == "set" and not path:
            result = operand
            continue
        if kind == "merge" and not path:
            if not isinstance(operand, dict) or not isinstance(result, dict | None):
                raise InvalidOperation("merge needs an object value and an object to merge into")
            result = {**(result or {}), **operand}
            continue
        if not path:
            raise InvalidOperation(f"{kind!r} needs a 'path'")
        if result is None:
            result = {}
        parent, leaf = _walk(result, path, create=kind in ("set", "merge", "increment", "decrement"))
        if kind == "set":
            parent[leaf] = operand
        elif kind == "merge":
            current = parent.get(leaf) or {}
            if not isinstance(operand, dict) or not isinstance(current, dict):
                raise InvalidOperation(f"merge at {path!r} needs objects on both sides")
            parent[leaf] = {**current, **operand}
        elif kind in ("increment", "decrement"):
            step = 1 if operand is None else operand
            current = parent.get(leaf, 0)
            if not isinstance(step, int | float) or isinstance(step, bool) or not isinstance(current, int | float):
                raise InvalidOperation(f"{kind} at {path!r} needs numbers")
            parent[leaf] = current + step if kind == "increment" else current - step
        elif kind in ("remove", "delete"):
            parent.pop(leaf, None)
        else:
            raise InvalidOperation(f"unknown update operation {kind!r}")
    return result


class JsonStore:
    """Reads and writes rows of one ``KeyedValue`` model, narrowed by ``scope`` fields."""

    def __init__(self, model: type[KeyedValue], **scope: str) -> None:
        self.model = model
        self.scope = scope

    def _rows(self) -> Any:
        manager = self.model._default_manager
        return manager.filter(**self.scope) if self.scope else manager.all()

    def _locked(self, group: str, key: str) -> Any:
        """The row, locked for the rest of the transaction, or ``None``."""
        try:
            return self._rows().select_for_update().get(group=group, key=key)
        except self.model.DoesNotExist:
            return None

    def get(self, group: str, key: str) -> Any:
        values = self._rows().filter(group=_check_name("group", group), key=_check_name("key", key))
        found = list(values.values_list("value", flat=True)[:1])
        return found[0] if found else None

    def set(self, group: str, key: str, value: Any) -> SetResult:
        _storable(value)
        return self._write(group, key, lambda _old: value)

    def update(self, group: str, key: str, operations: Sequence[Mapping[str, Any]]) -> SetResult:
        return self._write(group, key, lambda old: _storable(apply_operations(old, operations)))

    def delete(self, group: str, key: str) -> Any:
        with transaction.atomic():
            row = self._locked(_check_name("group", group), _check_name("key", key))
            if row is None:
                return None
            self._delete(row)
            return row.value

    def list(self, group: str) -> _List[Any]:
        return [row.value for row in self._rows().filter(group=_check_name("group", group)).order_by("key")]

    def items(self, group: str) -> _List[tuple[str, Any]]:
        rows = self._rows().filter(group=_check_name("group", group)).order_by("key")
        return [(key, value) for key, value in rows.values_list("key", "value")]

    def list_groups(self) -> _List[str]:
        return sorted(set(self._rows().values_list("group", flat=True)))

    def clear(self, group: str) -> None:
        with transaction.atomic():
            for row in self._rows().select_for_update().filter(group=_check_name("group", group)):
                self._delete(row)

    def _delete(self, row: KeyedValue) -> None:
        from .models import StreamItem

        if isinstance(row, StreamItem):
            row.version += 1  # the version of the delete's frame, read by the change signals
        row.delete()

    def _write(self, group: str, key: str, change: Callable[[Any], Any]) -> SetResult:
        from .models import StreamItem

        group, key = _check_name("group", group), _check_name("key", key)
        for _ in range(3):
            try:
                with transaction.atomic():
                    row = self._locked(group, key)
                    if row is None:
                        new = change(None)
                        row = self.model(group=group, key=key, value=new, **self.scope)
                        if isinstance(row, StreamItem):
                            row.version = database_clock(router.db_for_write(self.model))
                        row.save(force_insert=True)
                        return SetResult(None, new)
                    old = row.value
                    row.value = change(old)
                    row.previous_value = old  # read by the change signals
                    fields = ["value", "updated_at"]
                    if isinstance(row, StreamItem):
                        row.version += 1
                        fields.append("version")
                    row.save(update_fields=fields)
                    return SetResult(old, row.value)
            except IntegrityError:
                continue  # another writer created the row first: retry as an update
        raise InvalidOperation(f"could not write {group}/{key}: concurrent creation kept failing")
