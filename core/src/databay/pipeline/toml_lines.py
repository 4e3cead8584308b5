"""The line of each key path of a TOML pipeline, so that its problems name their line too.

:mod:`tomllib` does not tell where values are. :class:`TomlLines` finds out, the first time
a line is asked for (so a valid pipeline costs nothing): it cuts the text into statements
(a table header, or a key with its value, which may span lines), lets :mod:`tomllib` parse
each on its own, and follows the headers to know which table each key belongs to
(``[[links]]`` is ``links[N]``, ``[[links.outlets]]`` the last link's ``outlets[M]``). Every
key path inside a statement is on the statement's first line. Only for a text that
:mod:`tomllib` parses as a whole. A statement spanning ``n`` lines is parsed ``n`` times
(growing by a line until it is whole): past :data:`BUDGET` characters parsed in all, the
rest of the file has no lines (a bound for huge multi-line arrays).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator, Mapping
from typing import Any

BUDGET = 1_000_000


class TomlLines(Mapping[str, int]):
    """``{key path: line}`` of a TOML ``text``, worked out on first use."""

    def __init__(self, text: str):
        self._text = text
        self._lines: dict[str, int] | None = None

    def _found(self) -> dict[str, int]:
        if self._lines is None:
            self._lines = toml_lines(self._text)
        return self._lines

    def __getitem__(self, path: str) -> int:
        return self._found()[path]

    def __iter__(self) -> Iterator[str]:
        return iter(self._found())

    def __len__(self) -> int:
        return len(self._found())


def toml_lines(text: str) -> dict[str, int]:
    """``{key path: line}`` for the TOML ``text`` (see the module's docs)."""
    found: dict[str, int] = {}
    arrays: dict[str, int] = {}  # array of tables -> how many so far
    table = ""  # the key path the current header opened
    lines = text.split("\n")
    budget = [BUDGET]
    start = 0
    while start < len(lines) and budget[0] > 0:
        end, statement = _statement(lines, start, budget)
        if statement is None:  # blank, a comment, or never complete (cannot be: the text parsed)
            start = end
            continue
        header = _header(lines[start])
        if header is not None:
            opened = _open(statement, header, arrays)
            for path in opened:
                found.setdefault(path, start + 1)
            table = opened[-1]
        else:
            for path in _paths(statement, table):
                found.setdefault(path, start + 1)
        start = end
    return found


def _statement(lines: list[str], start: int, budget: list[int]) -> tuple[int, dict[str, Any] | None]:
    """``(the line after it, what it parses to)`` for the statement at ``start``."""
    first = lines[start].strip()
    if not first or first.startswith("#"):
        return start + 1, None
    for end in range(start + 1, len(lines) + 1):
        chunk = "\n".join(lines[start:end])
        budget[0] -= len(chunk)
        if budget[0] < 0:
            break
        try:
            return end, tomllib.loads(chunk)
        except tomllib.TOMLDecodeError:
            continue
    return len(lines), None


def _header(line: str) -> str | None:
    """``"[["`` or ``"["`` for a table header line, else ``None``."""
    stripped = line.lstrip()
    if stripped.startswith("[["):
        return "[["
    return "[" if stripped.startswith("[") else None


def _open(parsed: dict[str, Any], header: str, arrays: dict[str, int]) -> list[str]:
    """The key paths a header opens, the table itself last, counting arrays of tables
    (``[[links.outlets]]``: ``links``, ``links[2]``, ``links[2].outlets``, ``links[2].outlets[0]``)."""
    parts: list[str] = []
    value: Any = parsed
    while isinstance(value, dict) and value:
        key, value = next(iter(value.items()))
        parts.append(key)
        if isinstance(value, list):
            value = value[-1]
    opened: list[str] = []
    path = ""
    for index, part in enumerate(parts):
        path = f"{path}.{part}" if path else part
        opened.append(path)
        if index < len(parts) - 1 and path in arrays:
            path += f"[{arrays[path] - 1}]"
            opened.append(path)
    if header == "[[":
        arrays[path] = arrays.get(path, 0) + 1
        path += f"[{arrays[path] - 1}]"
        opened.append(path)
    return opened


def _paths(value: Any, path: str) -> Iterator[str]:
    """Every key path in ``value`` (a parsed statement), under ``path``."""
    if isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else key
            yield child
            yield from _paths(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            child = f"{path}[{index}]"
            yield child
            yield from _paths(item, child)
