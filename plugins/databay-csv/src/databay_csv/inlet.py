"""The :class:`CsvInlet`: reads the rows appended to a CSV file since the last pull."""

from __future__ import annotations

import csv
import logging
import os
import threading
import zlib
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, TypeVar

from databay import Inlet

from databay_csv.csv_format import CsvFormat, Dialect, Lines
from databay_csv.errors import CsvFormatError, file_error
from databay_csv.paths import checked_path

if TYPE_CHECKING:
    from databay import Update

__all__ = ["CsvInlet"]

_LOGGER = logging.getLogger("databay.CsvInlet")

_CHECKED_BYTES = 64  # how many bytes before the position are checked to notice a rewritten file
_START_AT = ("beginning", "end")
_T = TypeVar("_T")


class CsvInlet(Inlet):
    """Inlet producing the rows appended to a CSV file since its last pull, as dicts.

    Each pull reads the complete rows after :attr:`position` and produces one record per
    row: a dict of column name to value (strings, as ``csv.DictReader`` gives them), then
    moves :attr:`position` after the last row produced. A growing file's rows thus arrive
    once each. Pulls are executed synchronously and open the file only while reading.

    - No file yet: no records, not an error; its rows arrive once it exists.
    - A last row still being written (no line end yet, or an open quoted field) is left
      for a later pull.
    - A file truncated, rewritten or replaced (another file at the path, as log rotation
      does) since the last pull is read again from its top, with a warning.
    - Blank lines are skipped. A row with more cells than the header keeps the extra
      cells in a list under ``restkey``; a shorter one gets ``restval`` for the missing
      columns (as ``csv.DictReader``).

    :param filepath: Path to the CSV file.
    :param encoding: Text encoding of the file (ASCII-compatible). Default ``'utf-8'``;
        ``'utf-8-sig'`` also reads files that start with a byte order mark.
    :param fieldnames: Column names to use instead of the file's header.
    :param has_header: Whether the file's first row is a header. With ``fieldnames``
        given, a header row is skipped; without ``fieldnames`` it must be ``True``.
    :param start_at: Where a new inlet starts reading a file that already exists:
        ``'beginning'`` (default) or ``'end'`` (only rows appended from then on; the
        header is still read). Applies when :attr:`position` is not set, on start or at
        the first pull; a file created or replaced later is always read from its top.
    :param max_rows: At most this many rows per pull (``None``: all there are).
    :param restkey: Key of the list of extra cells of a too-long row. Default ``None``.
    :param restval: Value of the missing cells of a too-short row. Default ``None``.
    :param position: A :attr:`position` saved before, to carry on from.
    :param dialect: A csv dialect name (``'excel'``, ``'excel-tab'``, ``'unix'``) or class.
    :param delimiter: One-character field separator, overriding the dialect's.
    :param quotechar: One-character quote, overriding the dialect's.
    :param quoting: ``'minimal'``, ``'all'``, ``'nonnumeric'``, ``'none'`` or a
        ``csv.QUOTE_*`` constant, overriding the dialect's.
    :param escapechar: One-character escape, overriding the dialect's.

    Remaining arguments (``metadata``) go to :class:`~databay.inlet.Inlet`.

    Errors: a file that exists but cannot be read raises
    :class:`~databay_csv.errors.CsvFileError` naming it and the reason; a row that is not
    valid CSV or not in the encoding raises :class:`~databay_csv.errors.CsvFormatError`
    naming the file and the row's byte offset (the rows before it are produced first, and
    the position stays at the bad row).
    """

    def __init__(
        self,
        filepath: str | os.PathLike[str],
        *args: Any,
        encoding: str = "utf-8",
        fieldnames: Sequence[str] | None = None,
        has_header: bool = True,
        start_at: str = "beginning",
        max_rows: int | None = None,
        restkey: str | None = None,
        restval: Any = None,
        position: dict[str, Any] | None = None,
        dialect: Dialect = "excel",
        delimiter: str | None = None,
        quotechar: str | None = None,
        quoting: int | str | None = None,
        escapechar: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        path = checked_path("CsvInlet", filepath, "filepath")
        if fieldnames is not None:
            fieldnames = list(fieldnames)
            if not fieldnames or not all(isinstance(name, str) for name in fieldnames):
                raise ValueError(f"CsvInlet: fieldnames must be a non-empty list of strings, got {fieldnames!r}")
            _check_unique(fieldnames, "CsvInlet: fieldnames")
        elif not has_header:
            raise ValueError("CsvInlet: a file without a header (has_header=False) needs fieldnames")
        if start_at not in _START_AT:
            raise ValueError(f"CsvInlet: start_at must be one of {list(_START_AT)}, got {start_at!r}")
        if max_rows is not None and (isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1):
            raise ValueError(f"CsvInlet: max_rows must be a positive integer or None, got {max_rows!r}")
        self.filepath = path
        self.encoding = encoding
        self.fieldnames: list[str] | None = fieldnames
        self.has_header = has_header
        self.start_at = start_at
        self.max_rows = max_rows
        self.restkey = restkey
        self.restval = restval
        self.format = CsvFormat.from_arguments(
            "CsvInlet", encoding, dialect, delimiter=delimiter, quotechar=quotechar, quoting=quoting,
            escapechar=escapechar)
        self._position: dict[str, Any] | None = None
        self._lock = threading.Lock()  # pulls of one inlet shared by several links must not interleave
        self.position = position

    # -- the position ------------------------------------------------------------------

    @property
    def position(self) -> dict[str, Any] | None:
        """Where the next pull carries on: a small JSON-serialisable dict, or ``None``.

        ``None`` means the inlet has not looked at the file yet (``start_at`` decides
        where it starts). Otherwise:

        - ``offset``: byte offset just after the last row produced (or skipped);
        - ``header``: the file's header row, once read (``None`` before);
        - ``file``: ``[device, inode]`` of the file read (``None``: not seen yet), to
          notice another file at the path;
        - ``checksum``: CRC-32 of the (up to) 64 bytes before ``offset``, to notice a
          file rewritten past ``offset`` between pulls (``None``: not checked).

        Reading it gives a copy; assigning a dict saved earlier (e.g. with ``json``)
        carries on from there, and assigning ``None`` starts over. Each pull moves it in
        one step, after the rows it returns are read, so the rows of a pull and the
        position after them can be saved together.
        """
        if self._position is None:
            return None
        return {key: list(value) if type(value) is list else value for key, value in self._position.items()}

    @position.setter
    def position(self, value: dict[str, Any] | None) -> None:
        self._position = None if value is None else _checked_position(value)

    def get_state(self) -> dict[str, Any] | None:
        """The :attr:`position`: on a link with a stage it is committed with the rows each
        pull produced, and given back to :meth:`set_state` on restart."""
        return self.position

    def set_state(self, state: dict[str, Any] | None) -> None:
        """Carry on from ``state``, a :attr:`position` saved by :meth:`get_state`."""
        with self._lock:
            self.position = state

    # -- lifecycle -----------------------------------------------------------------------

    def on_start(self) -> None:
        """Take the starting position (``start_at``) unless :attr:`position` is set."""
        with self._lock:
            if self._position is None:
                self._position = self._with_file(self._initial_position)

    def pull(self, update: Update) -> list[dict[str, Any]]:
        """Read the rows appended since the previous pull and move :attr:`position` after them.

        :param update: Update object representing the particular Link transfer.
        """
        with self._lock:
            rows, self._position = self._with_file(self._read)
            return rows

    # -- reading -------------------------------------------------------------------------

    def _with_file(self, action: Callable[[IO[bytes] | None, list[int] | None], _T]) -> _T:
        """``action(binary, [device, inode])`` on the open file, or ``action(None, None)`` if there is none."""
        try:
            binary = open(self.filepath, "rb")
        except FileNotFoundError:
            return action(None, None)
        except OSError as exc:
            raise file_error("CsvInlet", "read", self.filepath, exc) from exc
        with binary:
            try:
                status = os.fstat(binary.fileno())
                return action(binary, [status.st_dev, status.st_ino])
            except OSError as exc:
                raise file_error("CsvInlet", "read", self.filepath, exc) from exc

    def _initial_position(self, binary: IO[bytes] | None, file_id: list[int] | None) -> dict[str, Any]:
        if binary is None or self.start_at == "beginning":
            return _position()
        offset = _after_last_line_end(binary)
        header = self._read_header(binary) if offset and self.has_header else None
        return _position(file_id, offset, header, _checksum(binary, offset))

    def _read(self, binary: IO[bytes] | None,
              file_id: list[int] | None) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        position = self._position
        if position is None:
            position = self._initial_position(binary, file_id)
        if binary is None:
            return [], position
        if not self._continues(binary, file_id, position):
            position = _position(file_id)
        offset, header = position["offset"], position["header"]
        if header is None and offset and self.has_header:
            header = self._read_header(binary)
        binary.seek(offset)
        rows: list[dict[str, Any]] = []
        end, header = self._parse(self.format.lines(binary, offset), header, rows)
        if end == position["offset"] and header == position["header"] and position["file"] == file_id:
            return rows, position  # nothing new
        return rows, _position(file_id, end, header, _checksum(binary, end))

    def _parse(self, lines: Lines, header: list[str] | None,
               rows: list[dict[str, Any]]) -> tuple[int, list[str] | None]:
        """Parse the complete rows of ``lines`` into ``rows``: the offset after the last
        one, and the header (read on the way if it was not known)."""
        end = lines.end
        keys = self.fieldnames or header
        width = len(keys) if keys else 0
        limit = self.max_rows
        append = rows.append
        try:
            for row in self.format.reader(lines):
                if lines.exhausted:  # the end of the data cut this row short: it is still being written
                    break
                end = lines.end
                if not row:
                    continue
                if header is None and self.has_header:
                    header = self._checked_header(row)
                    keys = self.fieldnames or header
                    width = len(keys)
                    continue
                if len(row) == width:
                    append(dict(zip(keys, row)))
                else:
                    append(self._uneven(keys, row))
                if limit is not None and len(rows) >= limit:
                    break
        except (csv.Error, UnicodeDecodeError) as exc:
            if not rows:
                raise CsvFormatError(f"CsvInlet cannot read {self.filepath}: the row at byte {end} is not valid "
                                     f"CSV in encoding {self.encoding!r} and this dialect: {exc}") from exc
            # The rows before it are produced; the next pull starts at the bad row and reports it.
        return end, header

    def _uneven(self, keys: list[str], row: list[str]) -> dict[str, Any]:
        record = dict(zip(keys, row))
        if len(row) > len(keys):
            record[self.restkey] = row[len(keys):]  # type: ignore[index]
        else:
            for key in keys[len(row):]:
                record[key] = self.restval
        return record

    def _read_header(self, binary: IO[bytes]) -> list[str] | None:
        try:
            header, _ = self.format.read_header(binary)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CsvFormatError(f"CsvInlet cannot read the header of {self.filepath}: {exc}") from exc
        return None if header is None else self._checked_header(header)

    def _checked_header(self, header: list[str]) -> list[str]:
        if self.fieldnames is None:
            _check_unique(header, f"CsvInlet: the header of {self.filepath}", CsvFormatError)
        return header

    def _continues(self, binary: IO[bytes], file_id: list[int], position: dict[str, Any]) -> bool:
        """Whether the file is the one ``position`` is in, unchanged up to it."""
        offset = position["offset"]
        if position["file"] is not None and position["file"] != file_id:
            reason = "was replaced by another file"
        elif os.fstat(binary.fileno()).st_size < offset:
            reason = "was truncated"
        elif position["checksum"] is not None and _checksum(binary, offset) != position["checksum"]:
            reason = "was rewritten"
        else:
            return True
        _LOGGER.warning("CsvInlet: %s %s since the last pull; reading it from the top", self.filepath, reason)
        return False

    def __repr__(self) -> str:
        if self.metadata:
            return f"CsvInlet({self.filepath}, metadata={self.metadata})"
        return f"CsvInlet({self.filepath})"


def _position(file_id: list[int] | None = None, offset: int = 0, header: list[str] | None = None,
              checksum: int | None = None) -> dict[str, Any]:
    return {"offset": offset, "header": header, "file": file_id, "checksum": checksum}


def _checksum(binary: IO[bytes], offset: int) -> int | None:
    if not offset:
        return None
    start = max(0, offset - _CHECKED_BYTES)
    binary.seek(start)
    return zlib.crc32(binary.read(offset - start))


def _after_last_line_end(binary: IO[bytes]) -> int:
    """The offset just after the file's last ``b"\\n"`` (0 if it has none)."""
    end = binary.seek(0, os.SEEK_END)
    block = 4096
    while end > 0:
        start = max(0, end - block)
        binary.seek(start)
        found = binary.read(end - start).rfind(b"\n")
        if found >= 0:
            return start + found + 1
        end = start
    return 0


def _check_unique(names: list[str], what: str, error: type[Exception] = ValueError) -> None:
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise error(f"{what} name(s) the column(s) {duplicates} more than once, so a value would be lost; "
                    f"pass fieldnames=[...] with unique names")


def _checked_position(value: Any) -> dict[str, Any]:
    """A copy of a position given by a user, checked."""
    if not isinstance(value, dict) or not isinstance(value.get("offset"), int) or value["offset"] < 0:
        raise ValueError(f"CsvInlet: a position is a dict with a non-negative int 'offset', got {value!r}")
    unknown = set(value) - {"offset", "header", "file", "checksum"}
    if unknown:
        raise ValueError(f"CsvInlet: unknown key(s) {sorted(unknown)} in position {value!r}")
    header, file_id, checksum = value.get("header"), value.get("file"), value.get("checksum")
    if header is not None and not (isinstance(header, list) and all(isinstance(h, str) for h in header)):
        raise ValueError(f"CsvInlet: position 'header' must be a list of strings or None, got {header!r}")
    if file_id is not None and not (isinstance(file_id, list) and len(file_id) == 2
                                    and all(isinstance(n, int) for n in file_id)):
        raise ValueError(f"CsvInlet: position 'file' must be [device, inode] or None, got {file_id!r}")
    if checksum is not None and not isinstance(checksum, int):
        raise ValueError(f"CsvInlet: position 'checksum' must be an int or None, got {checksum!r}")
    return _position(file_id, value["offset"], None if header is None else list(header), checksum)
