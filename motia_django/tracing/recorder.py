"""Writes execution and log records in batches, off the request and delivery path.

Callers only append a row's fields to a list; a daemon thread builds and
inserts the rows with one ``bulk_create`` per model every half second (or at 200
rows) and at exit, so tracing costs a request or a delivery no database round
trip.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.db import InterfaceError, OperationalError, close_old_connections, connections, router, transaction
from django.db.models import (
    BooleanField,
    CharField,
    DateTimeField,
    FloatField,
    IntegerField,
    Model,
    TextField,
)

from ..models import Execution, LogRecord

__all__ = ["flush", "record", "record_log"]

logger = logging.getLogger("motia.tracing")

Fields = dict[str, object]

_BATCH = 200
_INTERVAL = 0.5
#: Rows kept in memory while the database refuses them; beyond it the oldest are dropped.
MAX_PENDING = 50_000

_rows: list[tuple[type[Model], Fields]] = []
_lock = threading.Lock()
#: held while a batch is written, so a flush waits for the background thread's batch in flight
_writing = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None
#: records refused since the last report because too many were waiting
_dropped = 0


def _append(model: type[Model], fields: Fields) -> None:
    global _thread, _dropped
    with _lock:
        if len(_rows) >= MAX_PENDING:
            _dropped += 1  # the database has been away for long: keep memory bounded
            return
        _rows.append((model, fields))
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="motia-trace-writer", daemon=True)
            _thread.start()
        if len(_rows) >= _BATCH:
            _wake.set()


def record(fields: Fields) -> None:
    """Queue ``Execution(**fields)`` for insertion."""
    _append(Execution, fields)


def record_log(fields: Fields) -> None:
    """Queue ``LogRecord(**fields)`` for insertion."""
    _append(LogRecord, fields)


def flush() -> int:
    """Insert the pending rows now; returns how many were taken (a failure is logged).

    When it returns, every row recorded before the call is written, including a
    batch the background thread had taken and was still inserting.
    """
    return _write()[0]


def _write() -> tuple[int, bool]:
    """Insert the pending rows; how many were taken, and whether every insert succeeded."""
    with _writing:
        return _write_batch()


def _write_batch() -> tuple[int, bool]:
    """Insert what is pending; rows a failed insert did not store go back to the front of the queue."""
    global _rows
    with _lock:
        batch, _rows = _rows, []
    by_model: dict[type[Model], list[Fields]] = defaultdict(list)
    for model, fields in batch:
        by_model[model].append(fields)
    kept: list[tuple[type[Model], Fields]] = []
    failed = False
    for model, rows in by_model.items():
        try:
            _insert(model, rows)
        except (OperationalError, InterfaceError) as exc:  # the database is away: try these again later
            logger.warning("could not store %d %s record(s) yet: %s", len(rows), model.__name__, exc)
            kept += [(model, fields) for fields in rows]
        except Exception:
            logger.exception("could not store %d %s record(s)", len(rows), model.__name__)
            failed = True
    if kept:
        _keep(kept)
    if _dropped:
        _report_dropped()
    return len(batch), not (kept or failed)


def _keep(rows: list[tuple[type[Model], Fields]]) -> None:
    """Put unstored rows back in front for the next write, within :data:`MAX_PENDING`."""
    global _rows, _dropped
    with _lock:
        _rows = rows + _rows
        excess = len(_rows) - MAX_PENDING
        if excess > 0:
            del _rows[MAX_PENDING:]
            _dropped += excess


def _report_dropped() -> None:
    global _dropped
    with _lock:
        count, _dropped = _dropped, 0
    logger.error("dropped %d execution or log record(s): more than %d were waiting for the database",
                 count, MAX_PENDING)


#: Column values of these types go to the driver as they are, without a field's conversion.
_PLAIN_TYPES = (str, int, float, bool, type(None))
_PLAIN_FIELDS = (CharField, TextField, IntegerField, FloatField, BooleanField)


class _Layout:
    """How one model's rows become INSERT parameters, worked out once per model and database.

    Text and number columns take plain values as they are; only the others (times,
    JSON) go through their field's conversion: this runs on the web server's CPU.
    """

    def __init__(self, model: type[Model], connection: Any) -> None:
        fields = [f for f in model._meta.concrete_fields if not f.primary_key and f.column]
        quote = connection.ops.quote_name
        self.head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(str(f.column)) for f in fields)}) "
        self.row_placeholders = f"({', '.join(['%s'] * len(fields))})"
        limit = connection.features.max_query_params or 10_000
        #: rows per statement: one multi-row INSERT costs the database one statement, not one per row
        self.rows_per_statement = max(1, min(500, limit // len(fields)))
        self.fields = fields
        self.index = {f.attname: i for i, f in enumerate(fields)}
        self.plain = [isinstance(f, _PLAIN_FIELDS) for f in fields]
        self.timestamp = _timestamp_converter(connection)
        # a default that is computed per row (a callable) is left to the field
        self.defaults = [f.get_db_prep_save(f.get_default(), connection) if not callable(f.default) else None
                         for f in fields]
        self.per_row = [i for i, f in enumerate(fields) if callable(f.default)]

    def params(self, row: Fields, connection: Any) -> list[Any]:
        values = self.defaults.copy()
        for name, value in row.items():
            position = self.index[name]
            if self.plain[position] and type(value) in _PLAIN_TYPES:
                values[position] = value
            elif type(value) is float and isinstance(self.fields[position], DateTimeField):
                values[position] = self.timestamp(value)  # recorded as time.time(): converted here, off the request
            else:
                values[position] = self.fields[position].get_db_prep_save(value, connection)
        for position in self.per_row:
            field = self.fields[position]
            if field.attname not in row:
                values[position] = field.get_db_prep_save(field.get_default(), connection)
        return values


def _timestamp_converter(connection: Any) -> Callable[[float], Any]:
    """``time.time()`` -> what this database takes for a datetime column, as Django would write it.

    Django's own conversion costs a few microseconds a row; the usual cases
    (an aware datetime for PostgreSQL, a naive UTC string for SQLite) are
    done directly, after checking they give what Django gives.
    """
    field = DateTimeField()
    sample = datetime(2001, 2, 3, 4, 5, 6, 789, tzinfo=UTC)

    def aware(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    def naive_utc_text(ts: float) -> str:
        return str(datetime.fromtimestamp(ts, UTC).replace(tzinfo=None))

    def by_field(ts: float) -> Any:
        return field.get_db_prep_save(datetime.fromtimestamp(ts, UTC), connection)

    expected = field.get_db_prep_save(sample, connection)
    for fast in (aware, naive_utc_text):
        if fast(sample.timestamp()) == expected:
            return fast
    return by_field


_layouts: dict[tuple[type[Model], str], _Layout] = {}


def _insert(model: type[Model], rows: list[Fields]) -> None:
    """Multi-row INSERTs in one transaction: building model instances would cost the server more than the write."""
    connection = connections[router.db_for_write(model)]
    layout = _layouts.get((model, connection.alias))
    if layout is None:
        layout = _layouts[(model, connection.alias)] = _Layout(model, connection)
    size = layout.rows_per_statement
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start:start + size]
            params = [value for row in chunk for value in layout.params(row, connection)]
            cursor.execute(layout.head + "VALUES " + ", ".join([layout.row_placeholders] * len(chunk)), params)


def _loop() -> None:
    """Write what arrives; the thread's connection is kept while rows keep coming.

    Between bursts (a wait that brought nothing) the connection is handled as
    Django handles one at the end of a request (``CONN_MAX_AGE``, unusable
    connections); after a failed write it is dropped, so the next batch
    reconnects (to a database that restarted, say).
    """
    while True:
        _wake.wait(_INTERVAL)
        _wake.clear()
        written, succeeded = _write()
        if not succeeded:
            connections.close_all()
        elif written == 0:
            close_old_connections()


@atexit.register
def _flush_at_exit() -> None:
    """Last rows of a process that is exiting; its database or log streams may be gone already."""
    logging.raiseExceptions = False
    flush()
