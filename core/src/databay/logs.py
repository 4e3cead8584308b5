"""The ``databay`` logger's default handler and format.

``2020-07-30 19:51:41.318|D| http_to_mongo.0 transfer (databay.Link)``

Each record is one line: registered secrets are redacted and control characters (a newline
in a tag, an escape sequence in a server's answer) escaped (see :mod:`databay.printable`).
A traceback follows its record's line on lines of its own, redacted and escaped the same way.
"""

from __future__ import annotations

import logging
import time

from databay.printable import printable_line, printable_lines

LOG_FORMAT = "%(asctime)s|%(levelname)-.1s| %(message)s (%(name)s)"


class DatabayFormatter(logging.Formatter):
    """Formats times as ``%Y-%m-%d %H:%M:%S.mmm``; one line per record, secrets redacted and
    control characters escaped (a traceback on the lines after it)."""

    def format(self, record: logging.LogRecord) -> str:
        record.message = record.getMessage()
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = printable_line(self.formatMessage(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + printable_lines(record.exc_text)
        if record.stack_info:
            text += "\n" + printable_lines(self.formatStack(record.stack_info))
        return text

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        seconds = time.strftime("%Y-%m-%d %H:%M:%S", self.converter(record.created))
        return f"{seconds}.{int(record.msecs):03d}"


def install_default_handler() -> logging.Handler:
    """Attach databay's stream handler to the ``databay`` logger at WARNING level (once)."""
    logger = logging.getLogger("databay")
    for handler in logger.handlers:
        if getattr(handler, "_databay_default", False):
            return handler
    handler = logging.StreamHandler()
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(DatabayFormatter(LOG_FORMAT))
    handler._databay_default = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    return handler
