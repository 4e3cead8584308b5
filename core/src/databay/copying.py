"""Fast, isolation-preserving copies of records for ``copy_records=True``."""

from __future__ import annotations

import copy
import datetime
import operator
from itertools import chain
from typing import Any

from databay.record import Record

_IMMUTABLE = frozenset({int, float, str, bool, type(None), bytes, complex, frozenset, range,
                        # Dates and times too: a staged record's Stage.BATCH_TIME is one.
                        datetime.datetime, datetime.date, datetime.time, datetime.timedelta, datetime.timezone})


def copy_value(value: Any) -> Any:
    """Deep-copy ``value``, sharing immutable leaves.

    JSON-like data (dicts, lists, tuples, scalars) takes a fast path; anything else falls
    back to :func:`copy.deepcopy`.
    """
    try:
        return _copy_value(value)
    except RecursionError:
        # A self-referencing structure: copy it whole again with deepcopy, whose memo keeps
        # its cycles (falling back at the innermost level would cut them).
        return copy.deepcopy(value)


def _copy_value(value: Any) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        # A flat dict (the common record) is copied in C; issuperset iterates in C too.
        if _all_immutable(map(type, value.values())):
            return value.copy()
        return {k: v if type(v) in _IMMUTABLE else _copy_value(v) for k, v in value.items()}
    if kind is list:
        if _all_immutable(map(type, value)):
            return value.copy()
        return [v if type(v) in _IMMUTABLE else _copy_value(v) for v in value]
    if kind is tuple:
        if _all_immutable(map(type, value)):
            return value  # a tuple of immutable values is itself immutable
        return tuple(v if type(v) in _IMMUTABLE else _copy_value(v) for v in value)
    return copy.deepcopy(value)


_all_immutable = _IMMUTABLE.issuperset


def copy_records(records: list[Record]) -> list[Record]:
    """Return copies of ``records`` that share no mutable state with the originals."""
    flat = _flat_dict_parts(records)
    if flat is not None:
        # The common batch, records of flat dicts: every step below loops in C.
        payloads, metadatas = flat
        return list(map(Record, map(dict.copy, payloads), map(dict.copy, metadatas)))
    out: list[Record] = []
    append = out.append
    immutable = _IMMUTABLE
    for record in records:
        if type(record) is Record:
            payload = record._payload
            kind = type(payload)
            if kind is dict and _all_immutable(map(type, payload.values())):
                payload = payload.copy()
            elif kind not in immutable:
                payload = copy_value(payload)
            metadata = record._metadata
            if type(metadata) is dict and _all_immutable(map(type, metadata.values())):
                metadata = metadata.copy()
            else:
                metadata = copy_value(metadata)
            append(Record(payload, metadata))
        else:  # a Record subclass may carry more state: copy it whole
            append(copy.deepcopy(record))
    return out


_payload_of = operator.attrgetter("_payload")
_metadata_of = operator.attrgetter("_metadata")
_values = dict.values
_just_record = frozenset({Record})


def _flat_dict_parts(records: list[Record]) -> tuple[list[dict], list[dict]] | None:
    """``(payloads, metadatas)`` when every record is a plain :class:`Record` whose payload
    and metadata are dicts of immutable values, else ``None``."""
    if not records or not _just_record.issuperset(map(type, records)):
        return None
    payloads = list(map(_payload_of, records))
    metadatas = list(map(_metadata_of, records))
    try:  # dict.values refuses anything but a dict (subclasses included: see below)
        values = chain(chain.from_iterable(map(_values, payloads)), chain.from_iterable(map(_values, metadatas)))
        if not _all_immutable(map(type, values)):
            return None
    except TypeError:
        return None
    # dict.copy would turn a dict subclass (an OrderedDict, a defaultdict) into a plain dict.
    if not _just_dict.issuperset(map(type, payloads)) or not _just_dict.issuperset(map(type, metadatas)):
        return None
    return payloads, metadatas


_just_dict = frozenset({dict})
