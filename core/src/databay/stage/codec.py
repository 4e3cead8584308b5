"""How a batch of records is stored in a stage, and why reading one back is safe.

The format (codec ``pickle5-tagged``) is pickle protocol 5 restricted to data:

- ``None``, ``bool``, ``int``, ``float``, ``str``, ``bytes``, ``bytearray``, ``list``,
  ``tuple``, ``dict``, ``set`` and ``frozenset``, written by pickle's C encoder as they are;
- every other value as a **tagged value**, ``(type name, state)``, where the state is again
  such data. The types are those registered with :func:`register_type`, each with an
  ``encode(value) -> state`` and a ``decode(state) -> value``. Out of the box:
  ``datetime``/``date``/``time``/``timedelta``/``timezone``/``ZoneInfo``, ``Decimal``,
  ``UUID``, ``Fraction``, ``OrderedDict`` and ``complex``; databay-mongo adds the BSON
  types.

A tagged value is the only thing a batch names: the one global a valid batch refers to is
this module's ``_tagged``. Writing, a value of any other type is refused at its transfer
(:class:`~databay.errors.StageSerializationError`, naming the record and the value).

Reading treats a stage file as untrusted data:

1. pickle's C decoder runs with every global refused except ``_tagged``, which it
   receives as a sealed factory making inert placeholders. So no code the file names
   runs, no class is ever on its stack (so no opcode can set attributes on one), and
   nothing it builds has attributes an opcode could set: only the containers above.
2. A walk over the result replaces each placeholder by ``decode(state)`` of its
   registered type (the type's own constructor, nothing else), and counts the values as a
   copy of the records would meet them, every shared reference once per use: past
   :data:`MAX_VALUES` values (or :data:`MAX_DEPTH` levels), decoding stops with a clear
   error instead of building gigabytes. Records of flat dicts (the common batch) are
   checked in C without the walk.

Why not JSON or msgpack: msgpack is not a core dependency, and JSON cannot tell a tuple
from a list or an ``int`` key from a ``str`` key, so an exact round trip needs a walk in
Python at every transfer: about 1 ms per 1,000 small records against 0.1 ms for pickle's
C encoder, more than an unstaged transfer takes. Here writing stays at C speed (a Python
call only for tagged values), and only reading, which happens when a batch is delivered
again, pays for the checks.
"""

from __future__ import annotations

import collections
import copyreg
import datetime
import decimal
import fractions
import io
import operator
import pickle
import types
import uuid
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

from databay.errors import StageSerializationError
from databay.record import Record

CODEC = "pickle5-tagged"
"""Name of this encoding, stored with every batch."""

LEGACY_CODEC = "pickle5"
"""The encoding of stages written before tagged values (see :mod:`databay.stage.legacy`)."""

MAX_BATCH_BYTES = 256 * 2**20
"""The largest encoded batch a stage writes or reads (256 MiB)."""

MAX_VALUES = 20_000_000
"""The most values one batch may decode to (or its size in bytes, if larger): payloads,
metadata (the copy each record gets) and everything in them, a shared part once per use."""

MAX_DEPTH = 1000
"""The deepest nesting a batch may decode to (about what pickle can write)."""


class DecodeError(ValueError):
    """A batch that cannot be decoded: corrupt, naming an unregistered type, or past a bound."""


# -- the registry of value types --------------------------------------------------------


@dataclass(frozen=True)
class _ValueType:
    kind: type
    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


_by_type: dict[type, _ValueType] = {}
_by_name: dict[str, _ValueType] = {}


def register_type(kind: type, *, encode: Callable[[Any], Any] | None = None,
                  decode: Callable[[Any], Any] | None = None, name: str | None = None) -> type:
    """Allow values of ``kind`` in staged records (usable as a class decorator); returns ``kind``.

    :param encode: ``encode(value) -> state``: the value as data a stage stores (``None``,
        ``bool``, numbers, ``str``, ``bytes``, lists, tuples, dicts, sets and other
        registered values; a tuple keeps the value usable as a dict key).
    :param decode: ``decode(state) -> value``: a new value from that state, through the
        type's public constructor. Stage files are untrusted input: it must refuse a state
        it did not make (raising any exception) rather than build a broken value.
    :param name: the name stored with each value (default ``'module:QualifiedName'``);
        keep it when you move or rename the class.

    Without ``encode`` and ``decode``, values are stored the way they pickle, which
    works for plain classes and dataclasses: ``kind(*args)`` when their reduction calls
    the class, else a new instance (``kind.__new__``, inherited from ``object`` or a
    built-in type) whose state (``__setstate__`` or attributes) is set. Give functions for
    a class whose ``__new__`` is its own (it may return shared instances).

    Registering a class again replaces its functions.

    :raises TypeError: ``kind`` is not a class, or only one of the functions is given.
    :raises ValueError: the name is taken by another class, or a default name would name
        a class defined inside a function.
    """
    if not isinstance(kind, type):
        raise TypeError(f"register_type() takes a class, got {kind!r}")
    if (encode is None) != (decode is None):
        raise TypeError("register_type(): give both encode= and decode=, or neither")
    if name is None:
        if "<locals>" in kind.__qualname__:
            raise ValueError(f"register_type(): {kind.__qualname__} is defined inside a function; give it a "
                             f"name= that stays the same from one process to the next")
        name = f"{kind.__module__}:{kind.__qualname__}"
    taken = _by_name.get(name)
    if taken is not None and taken.kind is not kind:
        raise ValueError(f"register_type(): the name {name!r} is already used for {taken.kind!r}")
    if encode is None or decode is None:
        encode, decode = _reduced, _reconstructor(kind)
    previous = _by_type.get(kind)
    if previous is not None:
        _by_name.pop(previous.name, None)
    _by_type[kind] = _by_name[name] = _ValueType(kind, name, encode, decode)
    return kind


def _forget_type(kind: type) -> None:
    """Unregister ``kind`` (tests use it to make batches that can no longer be decoded)."""
    known = _by_type.pop(kind, None)
    if known is not None:
        _by_name.pop(known.name, None)


def registered_types() -> list[type]:
    """The classes whose values a stage stores besides the built-in data types."""
    return list(_by_type)


# How a class pickles, as state for its default decode: ("call", args) for kind(*args), or
# ("new", args, kwargs, state, list items, dict items) for a new instance with its state set.


def _reduced(value: Any) -> tuple:
    kind = type(value)
    reduction = value.__reduce_ex__(5)
    if isinstance(reduction, str):
        raise _Unsupported(value, "it pickles as a global, not as data")
    func, args, state, items, pairs = (tuple(reduction) + (None, None, None))[:5]
    if func is kind and state is None and items is None and pairs is None:
        return ("call", tuple(args))
    if func is _NEWOBJ and args and args[0] is kind:
        return ("new", tuple(args[1:]), {}, state, _listed(items), _listed(pairs))
    if func is _NEWOBJ_EX and args and args[0] is kind:
        return ("new", tuple(args[1]), dict(args[2]), state, _listed(items), _listed(pairs))
    where = getattr(func, "__qualname__", repr(func))
    raise _Unsupported(value, f"it pickles through {where}(); register it with encode= and decode=")


# How pickle makes a new instance, then sets its state (not in typeshed's copyreg).
_NEWOBJ = copyreg.__newobj__  # type: ignore[attr-defined]
_NEWOBJ_EX = copyreg.__newobj_ex__  # type: ignore[attr-defined]


def _listed(items: Any) -> list | None:
    return None if items is None else list(items)


def _reconstructor(kind: type) -> Callable[[Any], Any]:
    def decode(state: Any) -> Any:
        if type(state) is not tuple or not state:
            raise ValueError("not a state this type was written with")
        if state[0] == "call" and len(state) == 2:
            return kind(*state[1])
        if state[0] != "new" or len(state) != 6:
            raise ValueError("not a state this type was written with")
        if not _allocates_new(kind):
            raise ValueError(f"{kind.__qualname__} has its own __new__: register it with encode= and decode=")
        _, args, kwargs, attributes, items, pairs = state
        value: Any = kind.__new__(kind, *args, **kwargs)
        if items:
            value.extend(items)
        for key, item in pairs or ():
            value[key] = item
        if attributes is not None:
            _set_state(value, attributes)
        return value

    return decode


def _allocates_new(kind: type) -> bool:
    """Whether ``kind.__new__`` always makes a new object: a class written in Python whose
    ``__new__`` is inherited from ``object`` or another built-in type."""
    return bool(kind.__flags__ & _HEAP_TYPE) and isinstance(kind.__new__, types.BuiltinFunctionType)


_HEAP_TYPE = 1 << 9  # Py_TPFLAGS_HEAPTYPE: a class defined by a class statement


def _set_state(value: Any, state: Any) -> None:
    setstate = getattr(value, "__setstate__", None)
    if setstate is not None:
        setstate(state)
        return
    slots = None
    if type(state) is tuple and len(state) == 2:
        state, slots = state
    if state:
        value.__dict__.update(state)
    for key, item in (slots or {}).items():
        setattr(value, key, item)


def _register_builtins() -> None:
    dt = datetime
    register_type(dt.datetime, encode=lambda v: (v.year, v.month, v.day, v.hour, v.minute, v.second,
                                                 v.microsecond, v.tzinfo, v.fold),
                  decode=lambda s: dt.datetime(*s[:8], fold=s[8]))
    register_type(dt.date, encode=lambda v: (v.year, v.month, v.day), decode=lambda s: dt.date(*s))
    register_type(dt.time, encode=lambda v: (v.hour, v.minute, v.second, v.microsecond, v.tzinfo, v.fold),
                  decode=lambda s: dt.time(*s[:5], fold=s[5]))
    register_type(dt.timedelta, encode=lambda v: (v.days, v.seconds, v.microseconds),
                  decode=lambda s: dt.timedelta(*s))
    register_type(dt.timezone, encode=lambda v: v.__getinitargs__(), decode=lambda s: dt.timezone(*s))
    register_type(zoneinfo.ZoneInfo, encode=lambda v: v.key, decode=zoneinfo.ZoneInfo)
    register_type(decimal.Decimal, encode=str, decode=decimal.Decimal)
    register_type(uuid.UUID, encode=lambda v: (v.int, v.is_safe.value),
                  decode=lambda s: uuid.UUID(int=s[0], is_safe=uuid.SafeUUID(s[1])))
    register_type(fractions.Fraction, encode=lambda v: (v.numerator, v.denominator),
                  decode=lambda s: fractions.Fraction(*s))
    register_type(collections.OrderedDict, encode=lambda v: list(v.items()), decode=collections.OrderedDict)
    register_type(complex, encode=lambda v: (v.real, v.imag), decode=lambda s: complex(*s))


_register_builtins()


# -- writing ----------------------------------------------------------------------------


class _Sealed:
    """What a tagged value's stored reference becomes when read: makes placeholders, and
    has no attribute a pickle opcode could set."""

    __slots__ = ()

    def __call__(self, name: Any, state: Any) -> _Placeholder:
        return _Placeholder((name, state))


class _Placeholder(tuple):
    """``(type name, state)`` of a tagged value, until the walk decodes it."""

    __slots__ = ()


_tagged = _Sealed()


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        # Never called for the plain data types: pickle writes those itself.
        known = _by_type.get(type(obj))
        if known is not None:
            try:
                return _tagged, (known.name, known.encode(obj))
            except _Refused:
                raise
            except Exception as exc:
                raise _Unsupported(obj, f"its encode() raised {type(exc).__name__}: {exc}") from None
        if obj is _tagged:
            return "_tagged"  # the global this module names it by
        raise _Refused(obj)


class _Refused(Exception):
    def __init__(self, value: Any):
        super().__init__(value)
        self.value = value


class _Unsupported(_Refused):
    def __init__(self, value: Any, why: str):
        super().__init__(value)
        self.why = why


def encode(payloads: list, metadata: list | dict) -> bytes:
    """Encode the payloads and metadata of a batch: two parallel lists, or the payloads
    and the one dict every record's metadata is a copy of (stored once).

    :raises StageSerializationError: a value is of a type the stage does not store, or
        the batch is larger than :data:`MAX_BATCH_BYTES`; the message names the record
        and, if present, its inlet.
    """
    buffer = io.BytesIO()
    try:
        _Pickler(buffer, protocol=5).dump((payloads, metadata))
    except _Refused as refused:
        raise _explain(payloads, _per_record(metadata, payloads), refused) from None
    except (pickle.PicklingError, TypeError, AttributeError, RecursionError, ValueError) as exc:
        raise _explain(payloads, _per_record(metadata, payloads), None, exc) from None
    size = buffer.tell()
    if size > MAX_BATCH_BYTES:
        raise StageSerializationError(
            f"a batch of {len(payloads):,} records is {size / 2**20:,.0f} MiB encoded, more than a stage "
            f"batch may hold ({MAX_BATCH_BYTES // 2**20} MiB): split it with a grouper")
    return buffer.getvalue()


# -- reading ----------------------------------------------------------------------------


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == "_tagged":
            return _tagged
        raise pickle.UnpicklingError(f"it names {module}.{name}, and a batch names no code")


_ATOMS = frozenset({str, bytes, int, float, bool, type(None), bytearray})
_DICTS = frozenset({dict})
_CONTAINERS = frozenset({list, tuple, dict, set, frozenset, _Placeholder})


def decode(data: bytes) -> tuple[list, list]:
    """Decode what :func:`encode` produced: ``(payloads, metadata)``, one metadata dict
    per record (copies, when they were stored once).

    :raises DecodeError: the data is corrupt, names a type that is not registered (or no
        longer), cannot be rebuilt, or is past :data:`MAX_BATCH_BYTES`,
        :data:`MAX_VALUES` or :data:`MAX_DEPTH`.
    """
    if len(data) > MAX_BATCH_BYTES:
        raise DecodeError(f"it is {len(data) / 2**20:,.0f} MiB, more than a batch may be "
                          f"({MAX_BATCH_BYTES // 2**20} MiB)")
    try:
        batch = _Unpickler(io.BytesIO(data)).load()
    except DecodeError:
        raise
    except Exception as exc:  # corrupt data raises about anything: all of it means the same
        raise DecodeError(f"it is not a batch of records ({type(exc).__name__}: {exc})") from None
    if type(batch) is not tuple or len(batch) != 2 or type(batch[0]) is not list \
            or type(batch[1]) not in (list, dict):
        raise DecodeError("it is not a batch of records (unexpected layout)")
    payloads, metadata = batch
    if type(metadata) is list and len(metadata) != len(payloads):
        raise DecodeError(f"it has {len(payloads)} payloads but {len(metadata)} metadata")
    limit = max(MAX_VALUES, len(data))
    payloads, size = _settle(payloads, limit)
    metadata, meta_size = _settle(metadata, limit)
    if type(metadata) is dict:
        meta_size *= max(len(payloads), 1)  # every record gets a copy
    elif not _DICTS.issuperset(map(type, metadata)):
        raise DecodeError("its metadata are not dicts")
    if size + meta_size > limit:
        raise _too_many(size + meta_size, limit)
    return payloads, _per_record(metadata, payloads)


def _too_many(count: int, limit: int) -> DecodeError:
    return DecodeError(f"it would expand to {count:,} values or more (shared parts counted once per use, as "
                       f"a copy makes them), more than a batch may hold ({limit:,}): a batch that big is not "
                       f"records a link staged")


def _settle(root: Any, limit: int) -> tuple[Any, int]:
    """``(root with its placeholders decoded, how many values it holds)``, every shared
    reference counted each time it is used (a reference back up a cycle once)."""
    kind = type(root)
    if kind is list and _DICTS.issuperset(map(type, root)) and _flat(root):
        return root, len(root) + 1 + 2 * sum(map(len, root))  # records of flat dicts, checked in C
    if kind is dict and _flat((root,)):
        return root, 2 * len(root) + 1
    done: dict[int, tuple[Any, int]] = {}    # id -> (decoded value, its size)
    cycles: dict[int, bool] = {}            # ids being walked -> whether a cycle came back to it
    keep: list[Any] = []                     # what is in `done`, so that no id is reused meanwhile
    # Frames: [container, its parts, next part, decoded parts, size so far]
    stack: list[list] = [[root, _parts(root), 0, [], 1]]
    cycles[id(root)] = False
    while True:
        frame = stack[-1]
        node, parts, index = frame[0], frame[1], frame[2]
        if index < len(parts):
            frame[2] = index + 1
            part = parts[index]
            kind = type(part)
            if kind in _ATOMS:
                frame[3].append(part)
                frame[4] += 1
                continue
            key = id(part)
            if key in done:
                value, size = done[key]
            elif key in cycles:
                cycles[key] = True
                value, size = part, 1
            elif kind not in _CONTAINERS:
                raise DecodeError(f"it holds a {kind.__name__}, which no batch holds")
            elif (kind is list or kind is tuple) and _ATOMS.issuperset(map(type, part)):
                value, size = part, len(part) + 1
            elif kind is dict and _flat((part,)):
                value, size = part, 2 * len(part) + 1
            else:
                if len(stack) >= MAX_DEPTH:
                    raise DecodeError(f"it is nested more than {MAX_DEPTH} levels deep")
                cycles[key] = False
                stack.append([part, _parts(part), 0, [], 1])
                continue
            frame[3].append(value)
            frame[4] += size
            if frame[4] > limit:
                raise _too_many(frame[4], limit)
            continue
        stack.pop()
        value = _rebuilt(node, frame[3])
        key = id(node)
        if cycles.pop(key) and value is not node:
            raise DecodeError("a tuple or a tagged value is part of a cycle, which no batch holds")
        size = frame[4]
        done[key] = (value, size)
        keep.append(node)
        if not stack:
            return value, size
        parent = stack[-1]
        parent[3].append(value)
        parent[4] += size
        if parent[4] > limit:
            raise _too_many(parent[4], limit)


def _flat(dicts: Any) -> bool:
    """Whether every key and value of ``dicts`` is a plain value (checked in C).

    Keys are checked once per distinct key: a key that is not a plain value never equals
    one, so it survives the union."""
    return (_ATOMS.issuperset(map(type, chain.from_iterable(map(dict.values, dicts))))
            and _ATOMS.issuperset(map(type, set().union(*dicts))))


def _parts(node: Any) -> list:
    kind = type(node)
    if kind is dict:
        return list(chain.from_iterable(node.items()))
    if kind is _Placeholder:
        if len(node) != 2 or type(node[0]) is not str:
            raise DecodeError("it holds a tagged value without a type name")
        return [node[1]]
    return list(node)


def _rebuilt(node: Any, parts: list) -> Any:
    """``node`` with its parts replaced by their decoded values (in place for mutable containers)."""
    kind = type(node)
    if kind is _Placeholder:
        return _decode_tagged(node[0], parts[0])
    if kind is dict:
        keys, values = parts[::2], parts[1::2]
        if all(map(operator.is_, keys, node)):
            if not all(map(operator.is_, values, node.values())):
                for key, value in zip(keys, values):
                    node[key] = value
        else:
            node.clear()
            node.update(zip(keys, values))
        return node
    if all(map(operator.is_, parts, node)):
        return node
    if kind is list:
        node[:] = parts
        return node
    if kind is set:
        node.clear()
        node.update(parts)
        return node
    return kind(parts)  # tuple, frozenset


def _decode_tagged(name: str, state: Any) -> Any:
    known = _by_name.get(name)
    if known is None:
        raise DecodeError(f"it holds a value of type {name!r}, which is not registered: import what registers "
                          f"it (the plugin of the inlet that made it), or databay.stage.register_type() it")
    try:
        return known.decode(state)
    except Exception as exc:
        raise DecodeError(f"a {name} cannot be rebuilt from what the stage holds "
                          f"({type(exc).__name__}: {exc})") from None


def _per_record(metadata: list | dict, payloads: list) -> list:
    if type(metadata) is list:
        return metadata
    from databay.copying import copy_value

    return [copy_value(metadata) for _ in payloads]


# -- explaining what cannot be stored -------------------------------------------------------


def _explain(payloads: list, metadata: list, refused: _Refused | None,
             error: Exception | None = None) -> StageSerializationError:
    """Find the first record that cannot be stored and say which, where and why."""
    value = refused.value if refused is not None else None
    why = refused.why if isinstance(refused, _Unsupported) else None
    for index, (payload, meta) in enumerate(zip(payloads, metadata)):
        for part, data in (("payload", payload), ("metadata", meta)):
            found = _offending(data, part, value, error)
            if found is not None:
                path, bad = found
                inlet = meta.get("__inlet__") if isinstance(meta, dict) else None
                origin = f" (from {inlet})" if inlet else ""
                if why is not None:
                    return StageSerializationError(f"record {index}{origin} cannot be staged: {path} is "
                                                   f"{_describe(bad)}, registered but {why}")
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


# -- records ----------------------------------------------------------------------------


def encode_records(records: Sequence[Record], shared_metadata: dict | None = None) -> bytes:
    """Encode records for a stage (a backend stores the bytes as they are).

    :param shared_metadata: the dict every record's metadata is an untouched copy of, if
        known: stored once instead of once per record.
    :raises StageSerializationError: see :func:`encode`.
    """
    # List comprehensions: twice as fast as map(attrgetter(...)) on slots in Python 3.11.
    payloads = [record._payload for record in records]
    if shared_metadata is not None:
        return encode(payloads, shared_metadata)
    return encode(payloads, [record._metadata for record in records])


def decode_records(data: bytes) -> list[Record]:
    """The records :func:`encode_records` encoded (a ``Record`` subclass comes back as a ``Record``).

    :raises DecodeError: see :func:`decode`.
    """
    payloads, metadata = decode(data)
    return list(map(Record, payloads, metadata))
