"""Logs of ``databay run``: how many (``-v``/``-q``), in which format (``text`` or ``json``).

Logs go to standard error, one record per line. ``json`` lines are objects with
``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and, when there is one,
``exception`` (``Type: message``; the whole traceback with ``--debug``). Text lines
name the exception at the end of the message; tracebacks only with ``--debug``.

Neither format lets a record span lines or carry a registered secret: text lines are
escaped and redacted by :class:`~databay.logs.DatabayFormatter`, JSON values are redacted
here and escaped by ``json`` itself.
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

from databay.logs import LOG_FORMAT, DatabayFormatter
from databay.redaction import redact

PROGRESS_LOGGER = "databay.run"
"""The logger of ``run``'s own progress lines (one per transfer without the live view)."""


def _exception_summary(record: logging.LogRecord) -> str | None:
    """``Type: message`` of the record's exception, if it has one."""
    if not record.exc_info or record.exc_info[1] is None:
        return None
    exc = record.exc_info[1]
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class OneLineFormatter(DatabayFormatter):
    """databay's text format, with the exception named on the record's line instead of a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        summary = _exception_summary(record)
        if summary is None:
            return super().format(record)
        message = record.getMessage()
        exc = record.exc_info[1] if record.exc_info else None
        if str(exc) and str(exc) in message:  # the message says what happened already: add its type
            message = f"{message} ({type(exc).__name__})"
        elif summary not in message:
            message = f"{message} ({summary})"
        plain = logging.makeLogRecord({**record.__dict__, "msg": message, "args": None, "exc_info": None,
                                       "exc_text": None})
        return super().format(plain)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and exception.

    :param tracebacks: the exception's whole traceback, rather than ``Type: message``.
    """

    def __init__(self, tracebacks: bool = False):
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        summary = _exception_summary(record)
        if summary is not None and record.exc_info:
            data["exception"] = redact(self.formatException(record.exc_info) if self.tracebacks else summary)
        elif record.exc_text:
            data["exception"] = redact(record.exc_text)
        return json.dumps(data, default=str)  # ensure_ascii: every control character is escaped


class _StandardErrorHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is now (the live view redirects it above itself)."""

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # StreamHandler.__init__ assigns it
        pass


class ErrorCounter(logging.Handler):
    """Counts records at ERROR and above (the exit status of ``run`` depends on them)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1


def configure_logging(verbosity: int, log_format: str, tracebacks: bool = False) -> ErrorCounter:
    """Route databay's logs to standard error for ``run``; return a counter of errors.

    ``verbosity``: -2 errors only, -1 warnings, 0 warnings and ``run``'s progress, 1 info,
    2 debug. ``tracebacks``: log exceptions' tracebacks (``--debug``), not only their names.
    """
    root = logging.getLogger("databay")
    for handler in list(root.handlers):
        if getattr(handler, "_databay_default", False):
            root.removeHandler(handler)
    handler = _StandardErrorHandler()
    handler._databay_default = True  # type: ignore[attr-defined]  # install_default_handler won't add another
    if log_format == "json":
        formatter: logging.Formatter = JsonFormatter(tracebacks)
    else:
        formatter = DatabayFormatter(LOG_FORMAT) if tracebacks else OneLineFormatter(LOG_FORMAT)
    handler.setFormatter(formatter)
    root.addHandler(handler)
    counter = ErrorCounter()
    root.addHandler(counter)
    levels = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}
    root.setLevel(levels[max(-2, min(2, verbosity))])
    progress = logging.ERROR if verbosity <= -2 else logging.WARNING if verbosity == -1 else logging.INFO
    logging.getLogger(PROGRESS_LOGGER).setLevel(min(progress, root.level))
    return counter
