"""Cursor values as JSON, for the inlet's state: what a stage keeps between runs.

Numbers and strings stay as they are; the other types a cursor column commonly has are
tagged, so that they come back as the same type and compare with the column as before:
``{"datetime": "2024-05-01T12:00:00+00:00"}``, ``{"date": ...}``, ``{"time": ...}``,
``{"decimal": "12.50"}``, ``{"uuid": ...}``, ``{"bytes": <base64>}``.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import uuid
from collections.abc import Callable
from typing import Any

_TAGS: dict[type, tuple[str, Callable[[Any], str]]] = {
    datetime.datetime: ("datetime", datetime.datetime.isoformat),
    datetime.date: ("date", datetime.date.isoformat),
    datetime.time: ("time", datetime.time.isoformat),
    decimal.Decimal: ("decimal", str),
    uuid.UUID: ("uuid", str),
    bytes: ("bytes", lambda value: base64.b64encode(value).decode("ascii")),
}

_DECODERS: dict[str, Callable[[str], Any]] = {
    "datetime": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time": datetime.time.fromisoformat,
    "decimal": decimal.Decimal,
    "uuid": uuid.UUID,
    "bytes": base64.b64decode,
}


def encode(value: Any) -> Any:
    """``value`` as JSON-able data.

    :raises TypeError: a value of a type a cursor cannot be kept as (the message names it).
    """
    if value is None or type(value) in (bool, int, float, str):
        return value
    for kind, (tag, text) in _TAGS.items():
        if isinstance(value, kind):  # subclasses too: a pendulum DateTime is a datetime
            return {tag: text(value)}
    if isinstance(value, int | float | str):
        return value
    raise TypeError(f"a cursor value of type {type(value).__name__} ({value!r:.60}) cannot be kept as the "
                    f"inlet's position; use a column of numbers, text, dates/times, decimals or UUIDs")


def decode(data: Any) -> Any:
    """The value :func:`encode` turned into ``data``.

    :raises ValueError: ``data`` is not something :func:`encode` makes.
    """
    if isinstance(data, dict):
        if len(data) != 1 or next(iter(data)) not in _DECODERS:
            raise ValueError(f"not a cursor value: {data!r:.80}")
        [(tag, text)] = data.items()
        return _DECODERS[tag](text)
    if data is None or isinstance(data, bool | int | float | str):
        return data
    raise ValueError(f"not a cursor value: {data!r:.80}")
