"""``ctx.logger``: stdlib logging with the trace id, step and execution id on every record.

Records go to the ``motia.steps`` logger and propagate to the root logger, so
the project's ``LOGGING`` (or Celery's ``--logfile``) decides where they go.
Only while the root logger has no handler at all does the ``motia`` logger's
fallback handler print them (plain text or JSON lines, ``MOTIA["LOG_FORMAT"]``):
every record is printed once, never twice, never not at all.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

__all__ = [
    "DEV_CONSOLE_ENV", "FallbackHandler", "JsonFormatter", "PlainFormatter", "StepLogger", "StepRecordFormatter",
    "StoredLogHandler",
    "echo_step_records", "format_step_records", "formatter_for", "install_default_handler",
]

STEP_LOGGER_NAME = "motia.steps"


class StepLogger:
    """The logger a handler sees; accepts data positionally or as ``extra=``."""

    __slots__ = ("_logger", "execution_id", "step", "trace_id")

    def __init__(self, step: str | None, trace_id: str | None, logger: logging.Logger | None = None,
                 execution_id: str | None = None) -> None:
        self.step = step
        self.trace_id = trace_id
        self.execution_id = execution_id
        self._logger = logger or logging.getLogger(STEP_LOGGER_NAME)

    def _log(self, level: int, message: Any, data: dict[str, Any] | None, kwargs: dict[str, Any]) -> None:
        if not self._logger.isEnabledFor(level):
            return
        exc_info = kwargs.pop("exc_info", None)
        extra = kwargs.pop("extra", None)
        fields: dict[str, Any] = {}
        for part in (data, extra, kwargs):
            if isinstance(part, dict):
                fields.update(part)
            elif part is not None:
                fields["data"] = part
        self._logger.log(
            level,
            message,
            exc_info=exc_info,
            stacklevel=3,
            extra={"motia_step": self.step, "motia_trace_id": self.trace_id,
                   "motia_execution_id": self.execution_id, "motia_data": fields},
        )

    def debug(self, message: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._log(logging.DEBUG, message, data, kwargs)

    def info(self, message: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._log(logging.INFO, message, data, kwargs)

    def warning(self, message: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._log(logging.WARNING, message, data, kwargs)

    warn = warning

    def error(self, message: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._log(logging.ERROR, message, data, kwargs)

    def exception(self, message: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("exc_info", True)
        self._log(logging.ERROR, message, data, kwargs)

    def critical(self, message: Any, data: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self._log(logging.CRITICAL, message, data, kwargs)


def _json_default(value: Any) -> Any:
    return str(value)


class PlainFormatter(logging.Formatter):
    """``time LEVEL [step trace] message {data}``."""

    def format(self, record: logging.LogRecord) -> str:
        step = getattr(record, "motia_step", None)
        trace = getattr(record, "motia_trace_id", None)
        data = getattr(record, "motia_data", None)
        where = f" [{step or '-'} {trace or '-'}]" if step or trace else ""
        line = f"{self.formatTime(record)} {record.levelname:<7}{where} {record.getMessage()}"
        if data:
            line += " " + json.dumps(data, default=_json_default, sort_keys=True)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shipping."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": record.created,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "step": getattr(record, "motia_step", None),
            "traceId": getattr(record, "motia_trace_id", None),
            "executionId": getattr(record, "motia_execution_id", None),
        }
        data = getattr(record, "motia_data", None)
        if data:
            payload["data"] = data
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=_json_default)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter ``MOTIA["LOG_FORMAT"]`` names (``"plain"`` or ``"json"``)."""
    return JsonFormatter() if log_format == "json" else PlainFormatter()


class StepRecordFormatter(logging.Formatter):
    """Step records in ``MOTIA["LOG_FORMAT"]``, every other record as ``inner`` formats it.

    Put on the handlers Celery gives the root logger (``--logfile``), so a step's
    line in the worker's log carries its step, trace id and data.
    """

    def __init__(self, inner: logging.Formatter | None, log_format: str) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.steps = formatter_for(log_format)

    def format(self, record: logging.LogRecord) -> str:
        if hasattr(record, "motia_trace_id"):
            return self.steps.format(record)
        return self.inner.format(record)


class FallbackHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Prints ``motia`` records to stderr only while the root logger has no handler to take them."""

    def handle(self, record: logging.LogRecord) -> bool:
        if logging.getLogger().handlers:
            return False  # the record propagates to the root logger's handlers
        return super().handle(record)


class StoredLogHandler(logging.Handler):
    """Keeps step log records in the database (batched) so traces can show them."""

    def emit(self, record: logging.LogRecord) -> None:
        trace_id = getattr(record, "motia_trace_id", None)
        if not trace_id:
            return
        from datetime import UTC, datetime

        from .conf import motia_settings
        from .tracing.recorder import record_log

        if not motia_settings().TRACING:
            return
        record_log({
            "trace_id": trace_id, "step": getattr(record, "motia_step", None) or "", "level": record.levelno,
            "message": record.getMessage(), "data": json.loads(json.dumps(getattr(record, "motia_data", None),
                                                                          default=_json_default)),
            "created_at": datetime.fromtimestamp(record.created, tz=UTC),
        })


def install_stored_handler() -> None:
    steps = logging.getLogger(STEP_LOGGER_NAME)
    if not any(isinstance(h, StoredLogHandler) for h in steps.handlers):
        steps.addHandler(StoredLogHandler(level=logging.DEBUG))


def install_default_handler(log_format: str) -> None:
    """Give the ``motia`` logger its fallback handler unless the project's ``LOGGING`` configured it.

    The logger keeps propagating: a project (or Celery) that handles the root
    logger gets the records there, once.
    """
    motia = logging.getLogger("motia")
    if motia.handlers:
        return
    handler = FallbackHandler()
    handler.setFormatter(formatter_for(log_format))
    motia.addHandler(handler)
    if motia.level == logging.NOTSET:
        motia.setLevel(logging.INFO)


#: Set by ``motia_dev`` for its worker and beat: their step records go to the terminal, the rest to their log file.
DEV_CONSOLE_ENV = "MOTIA_DEV_CONSOLE"


def echo_step_records(log_format: str) -> None:
    """Print step records on the terminal too, and log Python warnings instead of printing them (``motia_dev``)."""
    steps = logging.getLogger(STEP_LOGGER_NAME)
    if not any(isinstance(h, logging.StreamHandler) and h.stream is sys.__stderr__ for h in steps.handlers):
        console = logging.StreamHandler(sys.__stderr__)  # not sys.stderr: Celery redirects that into the log
        console.setFormatter(formatter_for(log_format))
        steps.addHandler(console)
    logging.captureWarnings(True)


def format_step_records(handlers: list[logging.Handler], log_format: str) -> None:
    """Format step records on ``handlers`` with :class:`StepRecordFormatter` (idempotent)."""
    for handler in handlers:  # a formatter of ours was named in the project's LOGGING: it stays
        if not isinstance(handler.formatter, StepRecordFormatter | JsonFormatter | PlainFormatter):
            handler.setFormatter(StepRecordFormatter(handler.formatter, log_format))
