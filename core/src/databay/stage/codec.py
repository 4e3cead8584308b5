"""How a batch of records is stored in a stage: pickle protocol 5, limited to an allowlist.

Why pickle and not JSON: JSON cannot tell a tuple from a list, an ``int`` key from a
``str`` key, or carry bytes, datetimes, ``Decimal`` or a MongoDB ``ObjectId``, so an exact
round trip needs a tagged encoding walked in Python, and encoding 1,000 small dicts then
costs about 1 ms: more than a whole unstaged transfer. Pickle round-trips all of these
exactly at C speed (about 0.17 ms for the same batch).

Why it is safe: plain pickle runs whatever a file tells it to. Here both directions are
limited to an allowlist of types:

- writing, :meth:`_Pickler.reducer_override` sees every object that is not a plain
  ``None``/``bool``/``int``/``float``/``str``/``bytes``/``bytearray``/``list``/``tuple``/
  ``dict``/``set``/``frozenset`` (those never reach it), and refuses any whose type is not
  allowed, so a record that could not be read back fails at its transfer;
- reading, :meth:`_Unpickler.find_class` resolves only the allowed types, so a tampered
  stage file can build allowed values and nothing else (no imports, no calls of
  arbitrary functions).

Allowed out of the box: ``datetime``/``date``/``time``/``timedelta``/``timezone``/``ZoneInfo``,
``Decimal``, ``UUID``, ``Fraction``, ``OrderedDict``, ``complex``. Plugins and users add
their own value types with :func:`register_type` (databay-mongo registers ``ObjectId``
and the other BSON types).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import fractions
import io
import pickle
import uuid
import zoneinfo
from typing import Any

from databay.errors import StageSerializationError

CODEC = "pickle5"
"""Name of this encoding, stored with every batch."""

_allowed_types: set[type] = set()
_allowed_globals: set[tuple[str, str]] = set()


def register_type(kind: type) -> type:
    """Allow values of ``kind`` in staged records (usable as a class decorator).

    ``kind`` must pickle by reference to itself (the default for classes defined at
    module level, including dataclasses): its module and qualified name are what a stage
    file names, and all a stage file may name.
    """
    if not isinstance(kind, type):
        raise TypeError(f"register_type() takes a class, got {kind!r}")
    if "<locals>" in kind.__qualname__:
        raise ValueError(f"register_type(): {kind.__qualname__} is defined inside a function; a stage can only "
                         f"name classes importable from their module")
    _allowed_types.add(kind)
    _allowed_globals.add((kind.__module__, kind.__qualname__))
    return kind


for _kind in (datetime.datetime, datetime.date, datetime.time, datetime.timedelta, datetime.timezone,
              zoneinfo.ZoneInfo, decimal.Decimal, uuid.UUID, fractions.Fraction, collections.OrderedDict,
              complex):
    register_type(_kind)
_allowed_globals.add(("zoneinfo", "ZoneInfo._unpickle"))  # how a ZoneInfo pickles


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # An allowed value, or an allowed class itself (which is how its values name it).
        if type(obj) in _allowed_types or (isinstance(obj, type) and obj in _allowed_types):
            return NotImplemented  # pickled as usual
        raise _Refused(obj)


class _Refused(Exception):
    def __init__(self, value: Any):
        super().__init__(value)
        self.value = value


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _allowed_globals:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"the stage names {module}.{name}, which is not a registered record type "
            f"(databay.stage.register_type)")


def encode(payloads: list, metadata: list | dict) -> bytes:
    """Encode the payloads and metadata of a batch: two parallel lists, or the payloads
    and the one dict every record's metadata is a copy of (stored once).

    :raises StageSerializationError: a value is of a type the stage does not store;
        the message names the record and, if present, its inlet.
    """
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=5).dump((payloads, metadata))
    except _Refused as refused:
        raise _explain(payloads, _per_record(metadata, payloads), refused.value) from None
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError, ValueError) as exc:
        raise _explain(payloads, _per_record(metadata, payloads), None, exc) from None
    return buffer.getvalue()


def decode(data: bytes) -> tuple[list, list]:
    """Decode what :func:`encode` produced: ``(payloads, metadata)``, one metadata dict
    per record (copies, when they were stored once).

    :raises pickle.UnpicklingError: the data names a type that is not allowed.
    """
    payloads, metadata = _Unpickler(io.BytesIO(data)).load()
    return payloads, _per_record(metadata, payloads)


def _per_record(metadata: list | dict, payloads: list) -> list:
    if type(metadata) is list:
        return metadata
    from databay.copying import copy_value

    return [copy_value(metadata) for _ in payloads]


def _explain(payloads: list, metadata: list, value: Any, error: Exception | None = None) -> StageSerializationError:
    """Find the first record that cannot be stored and say which, where and why."""
    for index, (payload, meta) in enumerate(zip(payloads, metadata)):
        for part, data in (("payload", payload), ("metadata", meta)):
            found = _offending(data, part, value, error)
            if found is not None:
                path, bad = found
                inlet = meta.get("__inlet__") if isinstance(meta, dict) else None
                origin = f" (from {inlet})" if inlet else ""
                return StageSerializationError(
                    f"record {index}{origin} cannot be staged: {path} is {_describe(bad)}; a stage stores "
                    f"None, bool, int, float, str, bytes, list, tuple, dict, set, datetime, Decimal, UUID "
                    f"and the types registered with databay.stage.register_type()")
    reason = f": {error}" if error is not None else ""
    return StageSerializationError(f"the batch cannot be staged{reason}")


def _offending(data: Any, path: str, value: Any, error: Exception | None) -> tuple[str, Any] | None:
    """``(path, value)`` of the first value under ``data`` that cannot be encoded, or ``None``."""
    try:
        _Pickler(io.BytesIO(), protocol=5).dump(data)
        return None
    except _Refused as refused:
        if value is None:
            value = refused.value
    except Exception:  # noqa: BLE001 - any failure: look deeper for its place
        pass
    items: Any = ()
    if isinstance(data, dict):
        items = ((f"{path}[{key!r}]", item) for key, item in data.items())
        for key in data:
            if _offending(key, f"{path} key {key!r}", value, error) is not None:
                return f"{path} key {key!r}", key
    elif isinstance(data, (list, tuple, set, frozenset)):
        items = ((f"{path}[{i}]", item) for i, item in enumerate(data))
    for where, item in items:
        found = _offending(item, where, value, error)
        if found is not None:
            return found
    return path, data


def _describe(value: Any) -> str:
    kind = type(value)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    text = repr(value)
    if text.startswith("<"):  # the default repr says nothing more than the type
        return f"a {name}"
    return f"a {name} ({text if len(text) <= 60 else text[:57] + '...'})"
