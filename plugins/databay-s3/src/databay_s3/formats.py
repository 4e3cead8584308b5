"""The object formats both components speak: ``jsonl`` (default), ``csv`` and ``json``.

- ``jsonl``: one JSON value per line, UTF-8; one line per record.
- ``json``: one JSON array per object, one element per record (reading: an array gives one
  record per element, any other value one record).
- ``csv``: a header and one row per record, UTF-8 (read with or without a byte order mark).
  A record's payload is a mapping of column to value, or a list of them (one row each);
  values are written as the ``csv`` module writes them (``None`` as an empty cell, others
  through ``str()``) and read back as strings.

JSON is written compactly and as UTF-8 text. Values JSON has no type for are written as
text: dates and times in ISO 8601, ``Decimal`` and ``UUID`` values as their ``str()``, sets
and tuples as arrays. Anything else is an error naming the record.
"""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import json
import uuid
from collections.abc import Mapping
from typing import Any

from databay.printable import short_repr

FORMATS = ("jsonl", "csv", "json")
"""The format names, which are also the objects' file extensions (``{ext}`` in key templates)."""
CONTENT_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv; charset=utf-8", "json": "application/json"}


def check_format(owner: str, value: Any) -> str:
    """``value`` if it names a format; else a ``ValueError`` naming ``owner``."""
    if value not in FORMATS:
        raise ValueError(f"{owner}: format must be one of {list(FORMATS)}, got {value!r}")
    return value


def _as_json(value: Any) -> Any:
    """What a value JSON has no type for is written as (``json``'s ``default`` hook)."""
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"a value of type {type(value).__name__} cannot be written as JSON: {short_repr(value)}")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_as_json)
_encode_json = _ENCODER.encode


class UnwritablePayload(ValueError):
    """Payload number ``index`` cannot be written in the format; ``reason`` says why."""

    def __init__(self, index: int, reason: str):
        super().__init__(reason)
        self.index = index
        self.reason = reason


def encode(fmt: str, payloads: list[Any]) -> bytes:
    """The content of one object holding ``payloads`` (one per record) in format ``fmt``.

    :raises UnwritablePayload: naming the first payload that cannot be written.
    """
    try:
        if fmt == "jsonl":
            return ("\n".join(map(_encode_json, payloads)) + "\n").encode("utf-8")
        if fmt == "json":
            return _encode_json(payloads).encode("utf-8")
        return _encode_csv(payloads)
    except UnwritablePayload:
        raise
    except (TypeError, ValueError, csv.Error) as exc:
        raise _first_unwritable(fmt, payloads, exc) from exc


def _first_unwritable(fmt: str, payloads: list[Any], exc: Exception) -> UnwritablePayload:
    """Which payload made ``exc``: each is encoded alone until one fails (errors are rare)."""
    for index, payload in enumerate(payloads):
        try:
            if fmt == "csv":
                _encode_csv([payload])
            else:
                _encode_json(payload).encode("utf-8")
        except UnwritablePayload as error:
            return UnwritablePayload(index, error.reason)
        except (TypeError, ValueError, csv.Error) as error:
            return UnwritablePayload(index, str(error))
    return UnwritablePayload(0, str(exc))


def _encode_csv(payloads: list[Any]) -> bytes:
    rows: list[Mapping[str, Any]] = []
    columns: dict[str, None] = {}  # every key, in order of first appearance
    for index, payload in enumerate(payloads):
        for row in payload if type(payload) is list else [payload]:
            if not isinstance(row, Mapping):
                raise UnwritablePayload(index, f"a CSV row must be a mapping (dict) of column names to values, or "
                                               f"a list of them, got {type(row).__name__} {short_repr(row)}")
            for key in row:
                if type(key) is not str:
                    raise UnwritablePayload(index, f"column names must be strings, got {type(key).__name__} "
                                                   f"{key!r}")
                columns[key] = None
            rows.append(row)
    text = io.StringIO()
    writer = csv.DictWriter(text, list(columns), restval="")
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode("utf-8")


def decode(fmt: str, data: bytes, location: str) -> list[Any]:
    """The payloads an object's content holds in format ``fmt``: one per line, row or element.

    :param location: ``s3://bucket/key``, for error messages.
    :raises ValueError: the content is not valid in ``fmt`` (naming ``location`` and the line).
    """
    if fmt == "jsonl":
        return _decode_jsonl(data, location)
    if fmt == "json":
        try:
            value = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"{location} is not a valid JSON document: {exc}") from None
        return value if type(value) is list else [value]
    try:
        text = data.decode("utf-8-sig")
        return list(csv.DictReader(io.StringIO(text, newline="")))
    except UnicodeDecodeError as exc:
        raise ValueError(f"{location} is not UTF-8 text: {exc}") from None
    except csv.Error as exc:
        raise ValueError(f"{location} is not valid CSV: {exc}") from None


def _decode_jsonl(data: bytes, location: str) -> list[Any]:
    loads = json.loads
    values: list[Any] = []
    append = values.append
    for number, line in enumerate(data.split(b"\n"), start=1):
        if line.strip():
            try:
                append(loads(line))
            except (ValueError, UnicodeDecodeError) as exc:
                raise ValueError(f"line {number} of {location} is not valid JSON: {exc}") from None
    return values
