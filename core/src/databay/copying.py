"""Fast, isolation-preserving copies of records for ``copy_records=True``."""

from __future__ import annotations

import copy
from typing import Any

from databay.record import Record

_IMMUTABLE = frozenset({int, float, str, bool, type(None), bytes, complex, frozenset, range})


def copy_value(value: Any) -> Any:
    """Deep-copy ``value``, sharing immutable leaves.

    JSON-like data (dicts, lists, tuples, scalars) takes a fast path; anything else falls
    back to :func:`copy.deepcopy`.
    """
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    try:
        if kind is dict:
            return {k: v if type(v) in _IMMUTABLE else copy_value(v) for k, v in value.items()}
        if kind is list:
            return [v if type(v) in _IMMUTABLE else copy_value(v) for v in value]
        if kind is tuple:
            return tuple(v if type(v) in _IMMUTABLE else copy_value(v) for v in value)
    except RecursionError:  # a self-referencing structure: let deepcopy's memo handle it
        pass
    return copy.deepcopy(value)


def copy_records(records: list[Record]) -> list[Record]:
    """Return copies of ``records`` that share no mutable state with the originals."""
    out = []
    append = out.append
    for record in records:
        if type(record) is Record:
            payload = record._payload
            if type(payload) not in _IMMUTABLE:
                payload = copy_value(payload)
            append(Record(payload, copy_value(record._metadata)))
        else:  # a Record subclass may carry more state: copy it whole
            append(copy.deepcopy(record))
    return out
