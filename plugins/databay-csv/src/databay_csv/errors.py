"""Exceptions of databay-csv."""

from __future__ import annotations


class CsvFileError(OSError):
    """A CSV file cannot be opened, created, read or written.

    The message names the file and the operating system's reason; ``errno`` is the
    original error's and the original error is the ``__cause__``.
    """


class CsvColumnError(ValueError):
    """A record's columns do not fit the header of the file it is written to.

    The message names the column, the record and the file. Nothing of the push was written.
    """


class CsvFormatError(ValueError):
    """A CSV file's content cannot be read, or a record cannot be written, in the configured
    dialect or encoding (or a header names a column twice). The message names the file and
    the record, or the byte offset of the row read."""


def file_error(owner: str, action: str, path: str, exc: OSError, reason: str | None = None) -> CsvFileError:
    """A :class:`CsvFileError` saying ``owner cannot <action> <path>: <reason>``.

    The reason is the operating system's (and the file it names, if not ``path``) unless given.
    """
    if reason is None:
        reason = exc.strerror or str(exc) or type(exc).__name__
        if exc.filename is not None and str(exc.filename) != path:
            reason += f": {str(exc.filename)!r}"
    error = CsvFileError(f"{owner} cannot {action} {path}: {reason}")
    error.errno = exc.errno
    return error
