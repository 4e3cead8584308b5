"""The ``databay`` logger's default handler and format.

``2020-07-30 19:51:41.318|D| http_to_mongo.0 transfer (databay.Link)``
"""

from __future__ import annotations

import logging
import time

LOG_FORMAT = "%(asctime)s|%(levelname)-.1s| %(message)s (%(name)s)"


class DatabayFormatter(logging.Formatter):
    """Formats times as ``%Y-%m-%d %H:%M:%S.mmm``."""

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
