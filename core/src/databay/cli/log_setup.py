"""Logs of ``databay run``: how many (``-v``/``-q``), in which format (``text`` or ``json``).

Logs go to standard error, one record per line. ``json`` lines are objects with
``time`` (ISO 8601, UTC), ``level``, ``logger``, ``message`` and, when there is one,
``exception`` (the traceback text).
"""

from __future__ import annotations

import datetime
import json
import logging
import sys

from databay.logs import LOG_FORMAT, DatabayFormatter

PROGRESS_LOGGER = "databay.run"
"""The logger of ``run``'s own progress lines (one per transfer without the live view)."""


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and exception text."""

    def format(self, record: logging.LogRecord) -> str:
        data = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC)
            .isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            data["exception"] = record.exc_text
        return json.dumps(data, default=str)


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


def configure_logging(verbosity: int, log_format: str) -> ErrorCounter:
    """Route databay's logs to standard error for ``run``; return a counter of errors.

    ``verbosity``: -2 errors only, -1 warnings, 0 warnings and ``run``'s progress, 1 info,
    2 debug.
    """
    root = logging.getLogger("databay")
    for handler in list(root.handlers):
        if getattr(handler, "_databay_default", False):
            root.removeHandler(handler)
    handler = _StandardErrorHandler()
    handler._databay_default = True  # type: ignore[attr-defined]  # install_default_handler won't add another
    handler.setFormatter(JsonFormatter() if log_format == "json" else DatabayFormatter(LOG_FORMAT))
    root.addHandler(handler)
    counter = ErrorCounter()
    root.addHandler(counter)
    levels = {-2: logging.ERROR, -1: logging.WARNING, 0: logging.WARNING, 1: logging.INFO, 2: logging.DEBUG}
    root.setLevel(levels[max(-2, min(2, verbosity))])
    progress = logging.ERROR if verbosity <= -2 else logging.WARNING if verbosity == -1 else logging.INFO
    logging.getLogger(PROGRESS_LOGGER).setLevel(min(progress, root.level))
    return counter
