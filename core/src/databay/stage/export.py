"""A stage's records as rows of plain data: what ``databay stage --export`` writes, and
databay-web's downloads.

One row per record: ``link``, ``stage``, ``batch_id``, ``record_id``, ``state``,
``outlets`` (those the batch is in that state for), ``created``, ``error``, ``payload`` and
``metadata`` (:data:`COLUMNS`); values JSON cannot hold as they are become text (dates in
ISO format, bytes in base64, sets and tuples as lists, see :func:`plain`). A batch that
cannot be decoded is one row with its reason in ``error`` and no record. :func:`jsonl_line`
and :func:`csv_cells` write a row, redacted (:func:`databay.redaction.redact`).
"""

from __future__ import annotations

import base64
import datetime
import json
from collections.abc import Iterable, Iterator
from typing import Any

from databay.errors import UndecodableBatchError
from databay.redaction import redact
from databay.stage.base import Stage, StagedBatch

__all__ = ["COLUMNS", "batches_once", "csv_cells", "jsonl_line", "plain", "record_rows"]

COLUMNS = ("link", "stage", "batch_id", "record_id", "state", "outlets", "created", "error", "payload", "metadata")
"""The columns of a row, in order (the CSV header)."""


def batches_once(entries: Iterable[StagedBatch]) -> list[tuple[StagedBatch, list[str]]]:
    """Each batch of ``entries`` (:meth:`Stage.batches`, one per batch and outlet) once per
    state, with the outlets it is in that state for."""
    grouped: dict[tuple[int, str], tuple[StagedBatch, list[str]]] = {}
    for entry in entries:
        batch = grouped.setdefault((entry.batch, entry.state), (entry, []))
        if entry.outlet:
            batch[1].append(entry.outlet)
    return list(grouped.values())


def record_rows(stage: Stage, link: str, entry: StagedBatch, outlets: list[str]) -> Iterator[dict[str, Any]]:
    """One row per record of the batch ``entry`` of the open ``stage`` (of the link labelled
    ``link``), or one row saying why it cannot be decoded.

    :raises databay.errors.StageError: the stage cannot be read.
    """
    base = {"link": link, "stage": stage.location, "batch_id": entry.batch_id, "record_id": None,
            "state": entry.state, "outlets": outlets, "created": entry.created, "error": entry.error,
            "payload": None, "metadata": None}
    try:
        records = stage.read(entry.batch)
    except UndecodableBatchError as exc:
        yield {**base, "error": str(exc)}  # exported all the same: its reason instead of its records
        return
    for record in records:
        metadata = dict(record.metadata)
        record_id = metadata.pop(Stage.RECORD_ID, None)
        for stamp in (Stage.BATCH_ID, Stage.BATCH_TIME, Stage.BATCH_UPDATE):  # the batch's, not the record's
            metadata.pop(stamp, None)
        yield {**base, "record_id": record_id, "payload": plain(record.payload), "metadata": plain(metadata)}


def jsonl_line(row: dict[str, Any]) -> str:
    """``row`` as one JSON Lines line (with its newline), redacted; no control character is
    written raw (JSON escapes them)."""
    return redact(json.dumps(row)) + "\n"


def csv_cells(row: dict[str, Any]) -> list[str]:
    """``row`` as CSV cells in :data:`COLUMNS` order, redacted: payload and metadata as JSON text."""
    cells = []
    for column in COLUMNS:
        value = row[column]
        if column in ("payload", "metadata") and value is not None:
            value = json.dumps(value, ensure_ascii=False)
        elif column == "outlets":
            value = ", ".join(value)
        cells.append(redact("" if value is None else str(value)))
    return cells


def plain(value: Any) -> Any:
    """``value`` as JSON data: tuples and sets as lists, keys as text, bytes as base64, and
    other values (dates, decimals, ids) as their text."""
    kind = type(value)
    if value is None or kind in (str, int, float, bool):
        return value
    if kind is dict or isinstance(value, dict):
        return {key if isinstance(key, str) else str(plain(key)): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [plain(item) for item in items]
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (int, float, str)):  # bool, IntEnum, str subclasses
        return value
    return str(value)
