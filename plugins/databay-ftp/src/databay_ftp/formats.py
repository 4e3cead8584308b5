"""How records become file content and file content becomes records.

Writing (:func:`encode`), one file from the payloads of several records:

- ``jsonl``: one JSON document per line (UTF-8 unless another encoding is given);
- ``json``: one JSON array of the payloads;
- ``csv``: a header row, then one row per payload (a mapping, or a list of mappings for
  several rows); the columns are every key, in order of first appearance; a missing
  value is an empty cell;
- ``bytes``: the payload itself (``bytes``, or ``str`` encoded), one file per record.

JSON is strict: ``NaN`` and infinities are refused (they are not JSON), as are values
``json`` cannot write (a ``datetime``, a ``set``): convert them in a processor.

Reading (:func:`decode`), one file into payloads: ``bytes`` gives the whole content as one
payload, ``jsonl`` one per non-blank line, ``json`` one per element of a top-level array
(or the document itself), ``csv`` one dict per row keyed by the header.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from databay_ftp.errors import FtpFormatError

WRITE_FORMATS = ("jsonl", "csv", "json", "bytes")
READ_FORMATS = ("bytes", "csv", "jsonl", "json")
EXTENSIONS = {"jsonl": "jsonl", "csv": "csv", "json": "json", "bytes": "bin"}

_dumps = json.JSONEncoder(ensure_ascii=False, allow_nan=False).encode


def check_format(owner: str, value: Any, allowed: Sequence[str]) -> str:
    """``value`` if it is one of ``allowed``; ``ValueError`` naming ``owner`` otherwise."""
    if value not in allowed:
        raise ValueError(f"{owner}: format must be one of {', '.join(repr(f) for f in allowed)}, got {value!r}")
    return value


def check_encoding(owner: str, encoding: Any) -> str:
    """``encoding`` if Python knows it; ``ValueError`` naming ``owner`` otherwise."""
    try:
        codecs.lookup(encoding)
    except (LookupError, TypeError):
        raise ValueError(f"{owner}: unknown encoding {encoding!r}") from None
    return encoding


# -- writing ---------------------------------------------------------------------------

def encode(format: str, payloads: list[Any], encoding: str, describe: Callable[[int], str]) -> bytes:
    """The content of one file holding ``payloads`` (one, for ``bytes``).

    :param describe: ``describe(i)`` names payload ``i`` (its record and the file) in errors.
    :raises FtpFormatError: a payload cannot be written in ``format``, named.
    """
    if format == "jsonl":
        return _encode_json_lines(payloads, encoding, describe)
    if format == "json":
        return _encode_json_array(payloads, encoding, describe)
    if format == "csv":
        return _encode_csv(payloads, encoding, describe)
    return _encode_bytes(payloads[0], encoding, describe)


def _encode_json_lines(payloads: list[Any], encoding: str, describe: Callable[[int], str]) -> bytes:
    dumps = _dumps
    try:
        lines = [dumps(payload) for payload in payloads]
    except (TypeError, ValueError, RecursionError):
        raise _first_json_error(payloads, describe) from None
    lines.append("")
    return _encoded("\n".join(lines), encoding, describe)


def _encode_json_array(payloads: list[Any], encoding: str, describe: Callable[[int], str]) -> bytes:
    try:
        text = _dumps(payloads)
    except (TypeError, ValueError, RecursionError):
        raise _first_json_error(payloads, describe) from None
    return _encoded(text, encoding, describe)


def _first_json_error(payloads: list[Any], describe: Callable[[int], str]) -> FtpFormatError:
    for index, payload in enumerate(payloads):
        try:
            _dumps(payload)
        except (TypeError, ValueError, RecursionError) as exc:
            return FtpFormatError(f"{describe(index)}: it is not JSON: {exc}")
    return FtpFormatError(f"{describe(0)}: the payloads are not JSON")


def _encode_csv(payloads: list[Any], encoding: str, describe: Callable[[int], str]) -> bytes:
    rows: list[Mapping[str, Any]] = []
    columns: dict[str, None] = {}
    for index, payload in enumerate(payloads):
        for row in payload if isinstance(payload, list) else [payload]:
            if not isinstance(row, Mapping):
                raise FtpFormatError(f"{describe(index)}: a CSV row must be a mapping (dict) of column names to "
                                     f"values, or a list of them, got {type(row).__name__}")
            for key in row:
                if key not in columns:
                    if not isinstance(key, str):
                        raise FtpFormatError(f"{describe(index)}: CSV column names must be strings, got {key!r}")
                    columns[key] = None
            rows.append(row)
    header = list(columns)
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows([[row.get(column, "") for column in header] for row in rows])
    return _encoded(text.getvalue(), encoding, describe)


def _encode_bytes(payload: Any, encoding: str, describe: Callable[[int], str]) -> bytes:
    if isinstance(payload, bytes):
        return payload
    if isinstance(payload, bytearray | memoryview):
        return bytes(payload)
    if isinstance(payload, str):
        return _encoded(payload, encoding, describe)
    raise FtpFormatError(f"{describe(0)}: format 'bytes' writes payloads of type bytes or str, "
                         f"got {type(payload).__name__}")


def _encoded(text: str, encoding: str, describe: Callable[[int], str]) -> bytes:
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as exc:
        raise FtpFormatError(f"{describe(0)}: a character cannot be written in encoding {encoding!r}: "
                             f"{exc.reason}") from None


# -- reading ---------------------------------------------------------------------------

def decode(format: str, content: bytes, encoding: str, where: str) -> list[Any]:
    """The payloads in ``content``, a whole file read from ``where`` (named in errors).

    :raises FtpFormatError: the content is not valid in ``format`` and ``encoding``.
    """
    if format == "bytes":
        return [content]
    try:
        text = content.decode("utf-8-sig" if codecs.lookup(encoding).name == "utf-8" else encoding)
    except UnicodeDecodeError as exc:
        raise FtpFormatError(f"FtpInlet cannot read {where}: byte {exc.start} is not valid {encoding}") from None
    if format == "jsonl":
        return _decode_json_lines(text, where)
    if format == "json":
        try:
            document = json.loads(text)
        except ValueError as exc:
            raise FtpFormatError(f"FtpInlet cannot read {where}: it is not JSON: {exc}") from None
        return document if isinstance(document, list) else [document]
    return _decode_csv(text, where)


def _decode_json_lines(text: str, where: str) -> list[Any]:
    loads = json.loads
    payloads = []
    # Only "\n" ends a line: str.splitlines() would also split at characters such as U+2028
    # that JSON strings hold unescaped.
    for number, line in enumerate(text.split("\n"), start=1):
        if line.strip():
            try:
                payloads.append(loads(line))
            except ValueError as exc:
                raise FtpFormatError(f"FtpInlet cannot read {where}: line {number} is not JSON: {exc}") from None
    return payloads


def _decode_csv(text: str, where: str) -> list[Any]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        rows = list(reader)
    except csv.Error as exc:
        raise FtpFormatError(f"FtpInlet cannot read {where}: line {reader.line_num} is not valid CSV: {exc}") from None
    header = reader.fieldnames or []
    if len(set(header)) != len(header):
        raise FtpFormatError(f"FtpInlet cannot read {where}: its header names a column twice, so a value would be "
                             f"lost: {header}")
    return rows
