"""Checking pipeline values against constructor type hints, converting where TOML can't say it.

:func:`coerce` knows ``bool``, ``int``, ``float``, ``str``, ``list``/``tuple``/``set`` and
``dict`` (with their element types), ``Optional``/``Union``, ``Literal``, ``Any``,
enumerations (a member's value or name becomes the member), ``timedelta`` (an interval:
``5``, ``"5s"``), paths (a string becomes a ``Path``), dates and times (TOML's own), and
``Callable`` (a ``"module:attr"`` import string becomes the object). Any other class, and
hints it cannot read, are not checked: a constructor may well convert the value itself.
"""

from __future__ import annotations

import collections.abc
import datetime
import enum
import os
import pathlib
import types
import typing
from typing import Any

from databay.pipeline.environment import EnvironmentText
from databay.pipeline.imports import import_module
from databay.pipeline.intervals import EXPECTED as INTERVAL_EXPECTED
from databay.pipeline.intervals import IntervalError, parse_interval
from databay.printable import short_repr

_SEQUENCES = {list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.MutableSequence,
              collections.abc.Iterable, collections.abc.Collection, collections.abc.Set,
              collections.abc.MutableSet}
_MAPPINGS = {dict, collections.abc.Mapping, collections.abc.MutableMapping}
_TRUE, _FALSE = {"true", "yes", "on", "1"}, {"false", "no", "off", "0"}
_CONTAINER_NAMES: dict[type, str] = {dict: "a table", list: "a list"}


class Mismatch(ValueError):
    """A value that does not fit its hint: ``where`` inside the value, and what was expected."""

    def __init__(self, expected: str, value: Any, where: str = "", detail: str | None = None):
        self.expected, self.value, self.where, self.detail = expected, value, where, detail
        super().__init__(self.describe("value"))

    def describe(self, name: str, source: str | None = None) -> str:
        """``argument 'x'[1] must be int, not str ('a')``, for argument ``name``.

        :param source: where a secret value came from (``profile 'prod'``): the message
            then says its type, never the value.
        """
        if source is not None:
            expected = self.expected or "something else"
            return f"argument '{name}'{self.where} (from {source}) must be {expected}, not {type(_plain(self.value)).__name__}"
        if self.detail is not None:
            return f"argument '{name}'{self.where}: {self.detail}"
        return f"argument '{name}'{self.where} must be {self.expected}, not {shown(self.value)}"

    def inside(self, where: str) -> Mismatch:
        return Mismatch(self.expected, self.value, where + self.where, self.detail)


def shown(value: Any) -> str:
    """``str ('abc')``: a value's type and (shortened) text, for messages."""
    value = _plain(value)
    return f"{type(value).__name__} ({short_repr(value, 60)})"


def describe(hint: Any) -> str:
    """A short human name of ``hint``: ``int or None``, ``list of str``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is type(None) or hint is None:
        return "None"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(describe(a) for a in args)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in args)
    if origin is typing.Annotated:
        return describe(args[0])
    if origin in _SEQUENCES and args:
        return f"list of {describe(args[0])}"
    if origin in _MAPPINGS and len(args) == 2:
        return f"table of {describe(args[1])}"
    if origin is collections.abc.Callable or hint is collections.abc.Callable:
        return "an import string 'module:callable'"
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return "one of " + ", ".join(repr(m.value) for m in hint)
    if hint is datetime.timedelta:
        return f"an interval ({INTERVAL_EXPECTED})"
    if origin is not None:
        return describe(origin)
    if isinstance(hint, type):
        return _CONTAINER_NAMES.get(hint, hint.__name__)
    return str(hint)


def coerce(value: Any, hint: Any) -> Any:
    """``value`` made ready for a parameter annotated ``hint``.

    :raises Mismatch: ``value`` cannot be what ``hint`` says.
    """
    if hint is Any or isinstance(hint, (str, typing.ForwardRef, typing.TypeVar)):
        return _plain(value)
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin is typing.Annotated:
        return coerce(value, args[0])
    if origin in (typing.Union, types.UnionType):
        return _coerce_union(value, hint, args)
    if origin is typing.Literal:
        for option in args:
            if value == option and type(_plain(value)) is type(option):
                return option
        raise Mismatch(describe(hint), value)
    if hint is None or hint is type(None):
        if value is None:
            return None
        raise Mismatch("None (leave the key out)", value)
    if origin is collections.abc.Callable or hint is collections.abc.Callable or hint is typing.Callable:
        return imported_callable(value)
    if origin in _SEQUENCES or hint in _SEQUENCES:
        return _coerce_sequence(value, hint, origin or hint, args)
    if origin in _MAPPINGS or hint in _MAPPINGS:
        return _coerce_mapping(value, hint, args)
    if origin is not None or not isinstance(hint, type):
        return _plain(value)  # a form this checker does not read: not checked
    return _coerce_class(value, hint)


def _plain(value: Any) -> Any:
    """``value`` without :class:`EnvironmentText` marks, at any depth."""
    if isinstance(value, EnvironmentText):
        return str(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _coerce_union(value: Any, hint: Any, members: tuple) -> Any:
    meaningful = [m for m in members if m is not type(None)]
    mismatches: list[Mismatch] = []
    for member in members:
        try:
            return coerce(value, member)
        except Mismatch as exc:
            mismatches.append(exc)
    if len(meaningful) == 1:  # Optional[X]: say what is wrong with X
        return coerce(value, meaningful[0])
    # The member that got furthest inside the value explains best (list of str: which item).
    deepest = max(mismatches, key=lambda m: len(m.where))
    if deepest.where:
        raise deepest
    raise Mismatch(describe(hint), value)


def _coerce_sequence(value: Any, hint: Any, kind: Any, args: tuple) -> Any:
    if not isinstance(value, list):
        raise Mismatch(describe(hint), value)
    if kind is tuple and args and args[-1] is not Ellipsis:  # tuple[int, str]: one hint per item
        if len(args) != len(value):
            raise Mismatch(f"a list of {len(args)} items", value)
        items = [_item(v, h, i) for i, (v, h) in enumerate(zip(value, args))]
    else:
        element = args[0] if args else Any
        items = [_item(v, element, i) for i, v in enumerate(value)]
    if kind in (tuple, set, frozenset):
        return kind(items)
    return items


def _item(value: Any, hint: Any, index: int) -> Any:
    try:
        return coerce(value, hint)
    except Mismatch as exc:
        raise exc.inside(f"[{index}]") from None


def _coerce_mapping(value: Any, hint: Any, args: tuple) -> Any:
    if not isinstance(value, dict):
        raise Mismatch(describe(hint), value)
    if len(args) != 2:
        return _plain(value)
    result = {}
    for key, item in value.items():
        try:
            result[key] = coerce(item, args[1])
        except Mismatch as exc:
            raise exc.inside(f"[{key!r}]") from None
    return result


def _coerce_class(value: Any, hint: type) -> Any:
    from_environment = isinstance(value, EnvironmentText)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if from_environment and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise Mismatch("bool (true or false)", value)
    if hint is int or hint is float:
        # An int is a float too (TOML's 1 for 1.0); a bool is neither.
        if isinstance(value, (int, float) if hint is float else int) and not isinstance(value, bool):
            return hint(value)
        if from_environment:
            try:
                return hint(value.strip())
            except ValueError:
                pass
        raise Mismatch(hint.__name__, value)
    if hint is str:
        if isinstance(value, str):
            return str(value)
        raise Mismatch("str", value)
    if issubclass(hint, enum.Enum):
        return _coerce_enum(value, hint)
    if hint is datetime.timedelta:
        try:
            return parse_interval(_plain(value))
        except IntervalError as exc:
            raise Mismatch(describe(hint), value, detail=str(exc)) from None
    if hint is os.PathLike or issubclass(hint, pathlib.PurePath):
        if not isinstance(value, str):
            raise Mismatch("a path (str)", value)
        path_class: Any = pathlib.Path if hint is os.PathLike else hint
        return path_class(value)
    if hint in (datetime.datetime, datetime.date, datetime.time):
        if isinstance(value, hint) and (hint is not datetime.date or not isinstance(value, datetime.datetime)):
            return value
        raise Mismatch(f"a TOML {hint.__name__}", value)
    return _plain(value)  # any other class: the constructor may convert it, not checked


def _coerce_enum(value: Any, hint: type[enum.Enum]) -> enum.Enum:
    for member in hint:
        if type(_plain(value)) is type(member.value) and member.value == _plain(value):
            return member
    if isinstance(value, str):
        for member in hint:
            if member.name.lower() == value.lower():
                return member
    raise Mismatch(describe(hint), value)


def imported_callable(value: Any) -> Any:
    """The object an import string ``"package.module:attr"`` names, if it is callable.

    :raises Mismatch: not such a string, not importable, or not callable.
    """
    if not isinstance(value, str) or value.count(":") != 1:
        raise Mismatch("an import string 'module:callable'", value)
    module_name, attr = value.split(":")
    try:
        target: Any = import_module(module_name)
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - any import failure is the user's to fix
        raise Mismatch("", value, detail=f"cannot import '{module_name}': {type(exc).__name__}: {exc}") from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise Mismatch("", value, detail=f"'{module_name}' has no attribute '{attr}'") from None
    if not callable(target):
        raise Mismatch("", value, detail=f"'{value}' is not callable (it is a {type(target).__name__})")
    return target
