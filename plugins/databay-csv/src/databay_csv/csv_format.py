"""How a CSV file is encoded and delimited, shared by the outlet and the inlet.

Both components read files line by line as bytes (split on ``b"\\n"``) and decode each line,
so that they always know the byte offset where a row ends. That is exact for every
ASCII-compatible encoding (UTF-8, Latin-1, cp1252, Shift-JIS, ...), where the byte 0x0A is
always a line feed; UTF-16 and UTF-32 are refused when the component is created.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import IO, Any, Union

Dialect = Union[str, csv.Dialect, type[csv.Dialect]]
"""A registered dialect name (``'excel'``, ``'excel-tab'``, ``'unix'``) or a dialect class or instance."""

_QUOTING = {
    "minimal": csv.QUOTE_MINIMAL,
    "all": csv.QUOTE_ALL,
    "nonnumeric": csv.QUOTE_NONNUMERIC,
    "none": csv.QUOTE_NONE,
}


@dataclass(frozen=True)
class CsvFormat:
    """An encoding, a csv dialect and the format parameters that override it."""

    encoding: str
    dialect: Dialect = "excel"
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_arguments(
        cls,
        owner: str,
        encoding: str,
        dialect: Dialect,
        **options: Any,
    ) -> CsvFormat:
        """Check the arguments of a component and build its format.

        ``options`` are csv format parameters (``delimiter``, ``quotechar``, ``quoting``,
        ``escapechar``, ``lineterminator``, ...); those that are ``None`` are left to the
        dialect. ``quoting`` may also be named: ``'minimal'``, ``'all'``, ``'nonnumeric'``,
        ``'none'``.

        :raises ValueError: naming ``owner`` and the argument, for an unknown or
            ASCII-incompatible encoding, an unknown dialect or invalid format parameters.
        """
        try:
            codec = codecs.lookup(encoding)
        except (LookupError, TypeError) as exc:
            raise ValueError(f"{owner}: unknown encoding {encoding!r}") from exc
        line_feed = "\n".encode(codec.name)
        if codec.name == "utf-8-sig":
            line_feed = line_feed.removeprefix(codecs.BOM_UTF8)
        if line_feed != b"\n":
            raise ValueError(f"{owner}: encoding {encoding!r} is not ASCII-compatible; CSV files are read "
                             f"and written line by line, use e.g. 'utf-8', 'utf-8-sig' or 'latin-1'")
        options = {name: value for name, value in options.items() if value is not None}
        quoting = options.get("quoting")
        if isinstance(quoting, str):
            if quoting.lower() not in _QUOTING:
                raise ValueError(f"{owner}: quoting must be one of {sorted(_QUOTING)} or a csv.QUOTE_* "
                                 f"constant, got {quoting!r}")
            options["quoting"] = _QUOTING[quoting.lower()]
        made = cls(encoding, dialect, options)
        try:
            made.writer(io.StringIO())
            made.reader(iter(()))
        except (TypeError, csv.Error) as exc:
            raise ValueError(f"{owner}: invalid CSV format (dialect={dialect!r}, {options}): {exc}") from exc
        return made

    def writer(self, stream: IO[str]) -> Any:
        """A ``csv.writer`` writing to ``stream`` in this format."""
        return csv.writer(stream, self.dialect, **self.options)

    @cached_property
    def lineterminator(self) -> str:
        """What ends each row written."""
        return self.writer(io.StringIO()).dialect.lineterminator

    @cached_property
    def _unquoted_line_breaks(self) -> str:
        """The line break characters a writer of this format may leave unquoted in a value.

        The csv module quotes (or escapes) a value only for the characters of its
        ``lineterminator``: with ``'\\n'``, a value holding ``'\\r'`` would be written bare and
        read back wrong.
        """
        if self.writer(io.StringIO()).dialect.quoting in (csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC):
            return ""
        return "".join(c for c in "\r\n" if c not in self.lineterminator)

    def serialise(self, header: list[str] | None, rows: Iterable[Sequence[Any]]) -> str:
        """``header`` (unless ``None``) and ``rows`` as CSV text.

        :raises csv.Error: a value cannot be written in this format so that it reads back.
        """
        breaks = self._unquoted_line_breaks
        if breaks:
            rows = list(rows)
        text = io.StringIO()
        writer = self.writer(text)
        if header is not None:
            writer.writerow(header)
        writer.writerows(rows)
        written = text.getvalue()
        if breaks and any(c in written for c in breaks):
            return self._serialise_quoting_line_breaks(header, rows)
        return written

    def _serialise_quoting_line_breaks(self, header: list[str] | None, rows: list[Sequence[Any]]) -> str:
        """Like :meth:`serialise`, quoting each row that holds a line break its writer would leave bare."""
        breaks = self._unquoted_line_breaks
        text = io.StringIO()
        plain = self.writer(text)
        if self.writer(io.StringIO()).dialect.quoting == csv.QUOTE_NONE:
            quoted = None
        else:
            quoted = csv.writer(text, self.dialect, **{**self.options, "quoting": csv.QUOTE_ALL})
        for row in rows if header is None else [header, *rows]:
            if any(c in str(value) for value in row if value is not None for c in breaks):
                if quoted is None:
                    raise csv.Error(f"a value holds a line break ({breaks!r}) that quoting='none' with "
                                    f"lineterminator {self.lineterminator!r} cannot write")
                quoted.writerow(row)
            else:
                plain.writerow(row)
        return text.getvalue()

    def reader(self, lines: Iterator[str]) -> Any:
        """A ``csv.reader`` parsing ``lines`` in this format."""
        return csv.reader(lines, self.dialect, **self.options)

    def lines(self, binary: IO[bytes], start: int, eof_ends_line: bool = False) -> Lines:
        """The complete lines of ``binary`` from byte offset ``start`` (which must be its position)."""
        return Lines(binary, self.encoding, start, eof_ends_line)

    def read_header(self, binary: IO[bytes], eof_ends_line: bool = False) -> tuple[list[str] | None, int]:
        """The first row of the file that is not blank, and the byte offset after it.

        ``(None, offset)`` if the file holds no complete non-blank row yet. Leaves the file
        positioned anywhere.
        """
        binary.seek(0)
        lines = self.lines(binary, 0, eof_ends_line)
        end = 0
        for row in self.reader(lines):
            if lines.exhausted:  # cut short inside quotes: not complete yet
                break
            end = lines.end
            if row:
                return row, end
        return None, end


class Lines:
    """An iterator over the complete lines of a binary file, decoded, that knows the byte
    offset after the last line it handed out.

    A csv reader pulls lines only until its row is complete, so after each row ``end`` is
    the offset where that row ends. A last line without its ``b"\\n"`` is still being
    written: iteration stops before it and ``exhausted`` becomes true, so a row the reader
    returns while ``exhausted`` is true was cut short by the end of the data. With
    ``eof_ends_line``, the end of the file completes a last line instead (for a file
    nobody is writing to).
    """

    __slots__ = ("_readline", "_encoding", "_eof_ends_line", "end", "exhausted")

    def __init__(self, binary: IO[bytes], encoding: str, start: int, eof_ends_line: bool = False):
        self._readline = binary.readline
        self._encoding = encoding
        self._eof_ends_line = eof_ends_line
        self.end = start
        self.exhausted = False

    def __iter__(self) -> Lines:
        return self

    def __next__(self) -> str:
        line = self._readline()
        if line[-1:] != b"\n" and not (line and self._eof_ends_line):
            self.exhausted = True
            raise StopIteration
        text = line.decode(self._encoding)
        self.end += len(line)
        return text
