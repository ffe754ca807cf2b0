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

from django.db import close_old_connections, connections, router, transaction
from django.db.models import Model

from ..models import Execution, LogRecord

__all__ = ["flush", "record", "record_log"]

logger = logging.getLogger("motia.tracing")

Fields = dict[str, object]

_BATCH = 200
_INTERVAL = 0.5

_rows: list[tuple[type[Model], Fields]] = []
_lock = threading.Lock()
_wake = threading.Event()
_thread: threading.Thread | None = None


def _append(model: type[Model], fields: Fields) -> None:
    global _thread
    with _lock:
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
    """Insert the pending rows now; returns how many."""
    global _rows
    with _lock:
        batch, _rows = _rows, []
    by_model: dict[type[Model], list[Fields]] = defaultdict(list)
    for model, fields in batch:
        by_model[model].append(fields)
    for model, rows in by_model.items():
        try:
            _insert(model, rows)
        except Exception:
            logger.exception("could not store %d %s record(s)", len(rows), model.__name__)
    return len(batch)


def _insert(model: type[Model], rows: list[Fields]) -> None:
    """One ``executemany`` INSERT: building model instances would cost the server more than the write."""
    connection = connections[router.db_for_write(model)]
    columns = [f for f in model._meta.concrete_fields if not f.primary_key and f.column]
    quote = connection.ops.quote_name
    table = model._meta.db_table
    sql = (f"INSERT INTO {quote(table)} ({', '.join(quote(str(f.column)) for f in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))})")
    params = [
        [f.get_db_prep_save(row[f.attname] if f.attname in row else f.get_default(), connection) for f in columns]
        for row in rows
    ]
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _loop() -> None:
    while True:
        _wake.wait(_INTERVAL)
        _wake.clear()
        flush()
        close_old_connections()


@atexit.register
def _flush_at_exit() -> None:
    """Last rows of a process that is exiting; its database or log streams may be gone already."""
    logging.raiseExceptions = False
    flush()
