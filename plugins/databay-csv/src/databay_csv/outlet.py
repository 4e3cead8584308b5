"""The :class:`CsvOutlet`: writes records to CSV files."""

from __future__ import annotations

import codecs
import csv
import logging
import os
import threading
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter, itemgetter
from typing import IO, TYPE_CHECKING, Any

from databay import MetadataKey, Outlet
from databay.printable import describe_record, short_repr

from databay_csv.csv_format import CsvFormat, Dialect
from databay_csv.errors import CsvColumnError, CsvFormatError, file_error
from databay_csv.paths import checked_path

if TYPE_CHECKING:
    from databay import Record, Update

__all__ = ["CsvOutlet"]

_LOGGER = logging.getLogger("databay.CsvOutlet")

_MODES = ("a", "w", "x")
_OPEN_MODES = {"a": "ab", "w": "wb", "x": "xb"}
_payload_of = attrgetter("payload")
_metadata_of = attrgetter("metadata")
_just_dict = frozenset({dict})
_just_str = frozenset({str})


@dataclass
class _Batch:
    """The rows of one push going to one file, on their way to it."""

    path: str
    mode: str
    records: list[Record]
    payloads: list[Mapping[str, Any]]
    file: IO[bytes] | None = None  # an appended file is opened while preparing, to read its header
    data: bytes = b""


class CsvOutlet(Outlet):
    """Outlet that writes records to a csv file.

    Each record's payload (a dict, or a list of dicts) becomes one row (a row each).
    Records go to ``default_filepath``, or to the file named by their
    :attr:`CSV_FILE` metadata, written in ``default_file_mode`` or their
    :attr:`FILE_MODE` metadata. Each push groups its records by file and mode and opens
    each file once, writing all of its rows in one go. Missing parent folders are created.

    Columns: a new (or empty) file gets a header row first: ``fieldnames`` if given, else
    every key of the push's records for that file, in order of first appearance. A file
    that already has a header keeps it: rows are written in its column order. A record
    missing a column gets ``restval`` in that cell. A record with a column the file does
    not have raises :class:`~databay_csv.errors.CsvColumnError` (``extrasaction='raise'``)
    or, with ``extrasaction='ignore'``, that value is left out on purpose.

    Errors are raised before anything of the push is written when they are about the
    records (a payload that is not a dict: ``TypeError``; an extra column:
    ``CsvColumnError``; a value the encoding cannot represent: ``UnicodeEncodeError``) or
    about a path (:class:`~databay_csv.errors.CsvFileError`, naming the file and the
    reason). Only an error of the file system while writing (a full disk) can leave the
    files of the push written before it.

    :param default_filepath: Filepath of the default csv file to write records to.
    :param default_file_mode: Default write mode to use when writing into the csv file:
        ``'a'`` appends; ``'w'`` replaces the file's content with the push's rows on every
        push; ``'x'`` creates the file and fails if it exists.
    :param fieldnames: The columns, in order. A file that already has a different header
        raises :class:`~databay_csv.errors.CsvColumnError`. ``None``: from the records
        (new files) or from the file's header.
    :param extrasaction: What a record's key that is not a column does: ``'raise'``
        (default) or ``'ignore'`` (leave it out).
    :param restval: Written for a column a record does not have. Default ``''``.
    :param encoding: Text encoding of the files (ASCII-compatible). Default ``'utf-8'``;
        ``'utf-8-sig'`` writes a byte order mark at the start of new files, for Excel.
    :param dialect: A csv dialect name (``'excel'``, ``'excel-tab'``, ``'unix'``) or class.
    :param delimiter: One-character field separator, overriding the dialect's.
    :param quotechar: One-character quote, overriding the dialect's.
    :param quoting: ``'minimal'``, ``'all'``, ``'nonnumeric'``, ``'none'`` or a
        ``csv.QUOTE_*`` constant, overriding the dialect's.
    :param escapechar: One-character escape (needed with ``quoting='none'``).
    :param lineterminator: Ends each row, overriding the dialect's (``'\\r\\n'`` for excel).

    Remaining arguments (``processors``) go to :class:`~databay.outlet.Outlet`.
    """

    CSV_FILE: MetadataKey = "CsvOutlet.CSV_FILE"
    """Filepath of the csv file to write records to."""

    FILE_MODE: MetadataKey = "CsvOutlet.FILE_MODE"
    """Write mode to use when writing into the csv file."""

    def __init__(
        self,
        default_filepath: str | os.PathLike[str],
        default_file_mode: str = "a",
        *args: Any,
        fieldnames: Sequence[str] | None = None,
        extrasaction: str = "raise",
        restval: Any = "",
        encoding: str = "utf-8",
        dialect: Dialect = "excel",
        delimiter: str | None = None,
        quotechar: str | None = None,
        quoting: int | str | None = None,
        escapechar: str | None = None,
        lineterminator: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.default_filepath = checked_path("CsvOutlet", default_filepath, "default_filepath")
        self.default_file_mode = _checked_mode(default_file_mode, "default_file_mode")
        if fieldnames is not None:
            fieldnames = list(fieldnames)
            if not fieldnames or not _just_str.issuperset(map(type, fieldnames)):
                raise ValueError(f"CsvOutlet: fieldnames must be a non-empty list of strings, got {fieldnames!r}")
            if len(set(fieldnames)) != len(fieldnames):
                raise ValueError(f"CsvOutlet: fieldnames name a column twice: {fieldnames!r}")
        if extrasaction not in ("raise", "ignore"):
            raise ValueError(f"CsvOutlet: extrasaction must be 'raise' or 'ignore', got {extrasaction!r}")
        self.fieldnames: list[str] | None = fieldnames
        self.extrasaction = extrasaction
        self.restval = restval
        self.format = CsvFormat.from_arguments(
            "CsvOutlet", encoding, dialect, delimiter=delimiter, quotechar=quotechar, quoting=quoting,
            escapechar=escapechar, lineterminator=lineterminator)
        self.encoding = encoding
        # utf-8-sig: the byte order mark goes at the start of a file, never before appended rows.
        self._bom = codecs.BOM_UTF8 if codecs.lookup(encoding).name == "utf-8-sig" else b""
        self._data_encoding = "utf-8" if self._bom else encoding
        self._lock = threading.Lock()  # pushes of one outlet shared by several links must not interleave

    def push(self, records: list[Record], update: Update) -> None:
        """Writes records to a csv file: each file of the push is opened once.

        :param records: Records whose payloads are dicts (or lists of dicts).
        :param update: Update object representing the particular Link transfer.
        """
        batches = self._batches(records)
        with self._lock, ExitStack() as files:
            for batch in batches:
                self._prepare(batch, records, files)
            for batch in batches:
                if batch.data:
                    self._write(batch, files)
                    if _LOGGER.isEnabledFor(logging.INFO):
                        _LOGGER.info("%s wrote %d row(s) to %s", update, len(batch.payloads), batch.path)

    # -- grouping records by file (no I/O) -------------------------------------------

    def _batches(self, records: list[Record]) -> list[_Batch]:
        """The push's records grouped by file and mode, their payloads checked."""
        metadata = list(map(_metadata_of, records))
        keys = set().union(*metadata)
        if self.CSV_FILE in keys or self.FILE_MODE in keys:
            groups = self._group(records, metadata)
        else:  # the common push: every record to the default file
            groups = {(self.default_filepath, self.default_file_mode): records}
        return [_Batch(path, mode, group, _payloads(group, records, path)) for (path, mode), group in groups.items()]

    def _group(self, records: list[Record], metadata: list[dict]) -> dict[tuple[str, str], list[Record]]:
        targets: dict[tuple[Any, Any], tuple[str, str, str]] = {}
        # By file: the same file named two ways ('out.csv', './out.csv') is one file, opened once.
        by_file: dict[str, tuple[str, str, list[Record]]] = {}
        for index, (record, meta) in enumerate(zip(records, metadata)):
            asked = (meta.get(self.CSV_FILE), meta.get(self.FILE_MODE))
            try:
                path, mode, file = targets[asked]
            except KeyError:
                path, mode, file = targets[asked] = self._target(*asked, index, record)
            except TypeError:  # an unhashable value, refused by the check
                path, mode, file = self._target(*asked, index, record)
            group = by_file.get(file)
            if group is None:
                by_file[file] = (path, mode, [record])
            elif group[1] == mode:
                group[2].append(record)
            else:
                raise ValueError(f"CsvOutlet: records of one push write to {path} in two modes, "
                                 f"{group[1]!r} and {mode!r}")
        return {(path, mode): group for path, mode, group in by_file.values()}

    def _target(self, path: Any, mode: Any, index: int, record: Record) -> tuple[str, str, str]:
        """The checked path and mode a record's metadata asks for, and the file's absolute path."""
        where = f" in metadata of {describe_record(record, index)}"
        path = self.default_filepath if path is None else checked_path("CsvOutlet", path, self.CSV_FILE, where)
        mode = self.default_file_mode if mode is None else _checked_mode(mode, self.FILE_MODE, where)
        return path, mode, os.path.abspath(path)

    # -- turning a batch into bytes, reading the header of an existing file ------------

    def _prepare(self, batch: _Batch, records: list[Record], files: ExitStack) -> None:
        """Read the header of the file (appending), check the columns and encode the rows."""
        if not batch.payloads:
            return
        _ensure_parent(batch.path)
        header: list[str] | None = None
        prefix = b""
        if batch.mode == "a":
            header, prefix = self._existing_header(batch, files)
        keys = dict.fromkeys(chain.from_iterable(batch.payloads))
        columns = self._columns(batch, header, keys, records)
        try:
            text = self.format.serialise(columns if header is None else None,
                                         _rows(batch.payloads, columns, keys, self.restval))
            data = text.encode(self._data_encoding)
        except (csv.Error, UnicodeEncodeError) as exc:
            raise self._serialising_error(exc, batch, columns, records) from exc
        if batch.file is None:  # the file is new or empty (or replaced, in mode 'w')
            prefix = self._bom
        batch.data = prefix + data

    def _existing_header(self, batch: _Batch, files: ExitStack) -> tuple[list[str] | None, bytes]:
        """The header of the file appended to (``None``: new or no header yet), and what to write
        first to end its last line. Opens the file if it is not empty."""
        path = batch.path
        try:
            if not os.stat(path).st_size:
                return None, b""
        except FileNotFoundError:
            return None, b""
        except OSError as exc:
            raise file_error("CsvOutlet", "write to", path, exc) from exc
        batch.file = binary = _open(path, "ab+", files)
        try:
            header, _ = self.format.read_header(binary, eof_ends_line=True)
            binary.seek(-1, os.SEEK_END)
            last = binary.read(1)
        except OSError as exc:
            raise file_error("CsvOutlet", "read the header of", path, exc) from exc
        except (UnicodeDecodeError, csv.Error) as exc:
            raise CsvFormatError(f"CsvOutlet cannot read the header of {path} to append to it: {exc}") from exc
        if last == b"\n":
            return header, b""
        # Finish the file's last line, so that the first new row starts a line of its own.
        return header, b"\n" if last == b"\r" else self.format.lineterminator.encode(self._data_encoding)

    def _columns(self, batch: _Batch, header: list[str] | None, keys: dict[Any, None],
                 records: list[Record]) -> list[str]:
        """The file's columns; raises if a record has a column the file cannot take."""
        if not _just_str.issuperset(map(type, keys)):
            key = next(k for k in keys if type(k) is not str)
            raise TypeError(f"CsvOutlet cannot write {_record_with(key, batch, records)} to {batch.path}: "
                            f"column names must be strings, got {type(key).__name__} {key!r}")
        if header is not None:
            if self.fieldnames is not None and header != self.fieldnames:
                raise CsvColumnError(f"CsvOutlet cannot append to {batch.path}: its header is {header}, "
                                     f"but fieldnames are {self.fieldnames}")
            columns = header
        else:
            columns = self.fieldnames if self.fieldnames is not None else list(keys)
            if not columns:
                raise CsvColumnError(f"CsvOutlet cannot write to {batch.path}: the records have no columns "
                                     f"(their payloads are empty) and no fieldnames are given")
        if self.extrasaction == "raise" and not keys.keys() <= set(columns):
            extra = next(k for k in keys if k not in set(columns))
            raise CsvColumnError(
                f"CsvOutlet cannot write {_record_with(extra, batch, records)} to {batch.path}: column {extra!r} "
                f"is not in the file's columns {columns}. Nothing of this push was written. Give such records "
                f"another file ({self.CSV_FILE} metadata), list the column in fieldnames for new files, "
                f"or pass extrasaction='ignore' to leave such values out")
        return columns

    def _serialising_error(self, exc: Exception, batch: _Batch, columns: list[str],
                           records: list[Record]) -> CsvFormatError:
        """A :class:`CsvFormatError` for ``exc``, naming the first record that cannot be written."""
        where = "the header"
        for record in batch.records:
            payload = record.payload
            rows = payload if type(payload) is list else [payload]
            try:
                self.format.serialise(None, _rows(rows, columns, None, self.restval)).encode(self._data_encoding)
            except (csv.Error, UnicodeEncodeError):
                where = _record_name(record, records)
                break
        return CsvFormatError(f"CsvOutlet cannot write {where} to {batch.path} in encoding {self.encoding!r} and "
                              f"this dialect: {exc}. Nothing of this push was written")

    def _write(self, batch: _Batch, files: ExitStack) -> None:
        binary = batch.file or _open(batch.path, _OPEN_MODES[batch.mode], files)
        try:
            binary.write(batch.data)
            binary.close()
        except OSError as exc:
            raise file_error("CsvOutlet", "write to", batch.path, exc) from exc

    def __repr__(self) -> str:
        return f"CsvOutlet({self.default_filepath})"


def _rows(payloads: list[Mapping[str, Any]], columns: list[str], keys: dict[Any, None] | None, restval: Any):
    """The cells of each payload in column order, as fast as the payloads allow.

    ``keys``: every key of the payloads, if known.
    """
    width = len(columns)
    if keys is not None and keys.keys() == set(columns) and set(map(len, payloads)) == {width}:
        # Every payload has exactly the columns (the common case): rows are built in C.
        return map(itemgetter(*columns), payloads) if width > 1 else zip(map(itemgetter(columns[0]), payloads))
    return [[payload.get(column, restval) for column in columns] for payload in payloads]


def _payloads(group: list[Record], records: list[Record], path: str) -> list[Mapping[str, Any]]:
    """The payloads of a group as one mapping per row; raises ``TypeError`` for anything else."""
    payloads = list(map(_payload_of, group))
    if _just_dict.issuperset(map(type, payloads)):
        return payloads
    rows: list[Mapping[str, Any]] = []
    for record, payload in zip(group, payloads):
        if isinstance(payload, Mapping):
            rows.append(payload)
        elif type(payload) is list:
            for position, element in enumerate(payload):
                if not isinstance(element, Mapping):
                    raise _not_a_row(element, f"{_record_name(record, records, position)},", path)
                rows.append(element)
        else:
            raise _not_a_row(payload, _record_name(record, records), path)
    return rows


def _not_a_row(value: Any, where: str, path: str) -> TypeError:
    return TypeError(f"CsvOutlet cannot write {where} to {path}: a row must be a mapping (dict) of column "
                     f"names to values, or a list of them, got {type(value).__name__} {short_repr(value)}. "
                     f"Nothing of this push was written")


def _record_name(record: Record, records: list[Record], position: int | None = None) -> str:
    index = next(i for i, r in enumerate(records) if r is record)
    return describe_record(record, index, position)


def _record_with(key: Any, batch: _Batch, records: list[Record]) -> str:
    """Names the first record of ``batch`` whose payload (or one of whose rows) has ``key``."""
    for record in batch.records:
        payload = record.payload
        if any(key in row for row in (payload if type(payload) is list else [payload])):
            return _record_name(record, records)
    return "a record"


def _ensure_parent(path: str) -> None:
    parent = os.path.dirname(path)
    if not parent or os.path.isdir(parent):
        return
    try:
        os.makedirs(parent, exist_ok=True)
    except FileExistsError as exc:  # something that is not a folder is in the way
        raise file_error("CsvOutlet", "write to", path, exc, f"{exc.filename} is not a folder") from exc
    except OSError as exc:
        raise file_error("CsvOutlet", "create the folder of", path, exc) from exc


def _open(path: str, mode: str, files: ExitStack) -> IO[bytes]:
    try:
        return files.enter_context(open(path, mode))
    except OSError as exc:
        raise file_error("CsvOutlet", "write to", path, exc) from exc


def _checked_mode(value: Any, name: str, where: str = "") -> str:
    if value not in _MODES:
        raise ValueError(f"CsvOutlet: {name}{where} must be one of {list(_MODES)} (append, write anew each push, "
                         f"create), got {value!r}")
    return value

