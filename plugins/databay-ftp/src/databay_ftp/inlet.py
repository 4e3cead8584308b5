"""The :class:`FtpInlet`: reads the files added to (or changed in) a remote directory."""

from __future__ import annotations

import fnmatch
import logging
import os
import threading
from typing import TYPE_CHECKING, Any

from databay import Inlet, MetadataKey, Record

from databay_ftp.connection import Connection
from databay_ftp.endpoint import Endpoint
from databay_ftp.errors import FtpFormatError
from databay_ftp.formats import READ_FORMATS, check_encoding, check_format, decode

if TYPE_CHECKING:
    from databay import Update

    from databay_ftp.remote import RemoteFile, RemoteSession

__all__ = ["FtpInlet"]

_LOGGER = logging.getLogger("databay.FtpInlet")

MEBIBYTE = 1024 * 1024


class FtpInlet(Inlet):
    """Inlet producing the files that are new or changed in a directory of an FTP, FTPS or
    SFTP server since its last pull.

    Each pull lists the directory (not its subdirectories), takes the regular files
    whose name matches ``pattern`` and whose size or modification time differ from
    when it last read them (or that it has not read yet), oldest first, and downloads
    them. With ``format='bytes'`` each file is one record (its content, as ``bytes``);
    with ``csv``, ``jsonl`` or ``json`` each row, line or array element is one. A
    changed file is read whole again. Every record carries the file's name in its
    metadata under ``FtpInlet.FILE``. Hidden files (whose name starts with ``.``, such
    as the temporary files of :class:`~databay_ftp.outlet.FtpOutlet`) are skipped unless
    ``pattern`` starts with ``.``.

    What a pull reads is bounded: at most ``max_files`` files and ``max_bytes`` bytes;
    the rest come with the next pulls. A file larger than ``max_bytes`` cannot be read
    and raises an error naming it (the files before it are produced first), at every
    pull until it is removed or ``max_bytes`` raised. A file whose size changes while it
    is read is left for a later pull.

    The files read are the inlet's :attr:`position` (their names, sizes and times). On a
    link with a stage it is committed with the records each pull produced and restored
    on restart (:meth:`get_state`/:meth:`set_state`), so every file is read once across
    restarts, and a crash between a pull and its commit reads those files again rather
    than losing them. Files that disappear from the directory leave the position.

    :param url: ``ftp://user@host[:port]/directory``, ``ftps://...`` or ``sftp://...``,
        as for :class:`~databay_ftp.outlet.FtpOutlet`.
    :param pattern: A glob the file names must match (``fnmatch``, case-sensitive);
        default ``'*'``.
    :param format: ``'bytes'`` (default), ``'csv'``, ``'jsonl'`` or ``'json'``.
    :param password: The password (``"${FTP_PASSWORD}"`` in a pipeline file); never shown.
    :param encoding: Text encoding of ``csv``, ``jsonl`` and ``json`` files (default
        ``'utf-8'``; a byte order mark at the start is skipped).
    :param max_files: At most this many files per pull (default 100).
    :param max_bytes: At most this many bytes per pull, and the largest file that can be
        read (default 64 MiB).
    :param position: A :attr:`position` saved before, to carry on from.
    :param timeout: Seconds to wait for the server when connecting and for each operation.
    :param idle_timeout: Seconds an unused connection is kept for the next pull.
    :param passive: FTP/FTPS passive mode (default ``True``).
    :param cacert: FTPS: a PEM file of the certificate authorities to trust.
    :param known_hosts: SFTP: an OpenSSH ``known_hosts`` file with the server's host key
        (default ``~/.ssh/known_hosts``).
    :param private_key: SFTP: a private key file to log in with.

    Remaining arguments (``metadata``, ``retry``) go to :class:`~databay.Inlet`.

    Errors: as for the outlet (:class:`~databay_ftp.errors.FtpConnectionError`,
    :class:`~databay_ftp.errors.FtpAuthenticationError`,
    :class:`~databay_ftp.errors.FtpOperationError`), and
    :class:`~databay_ftp.errors.FtpFormatError` naming the file (and line) whose content
    is not valid in ``format``; the files before it are produced first, and it is
    reported again at every pull until it is fixed.
    """

    FILE: MetadataKey = "FtpInlet.FILE"
    """Metadata key of the name of the file a record was read from."""

    def __init__(
        self,
        url: str,
        pattern: str = "*",
        format: str = "bytes",
        password: str | None = None,
        *args: Any,
        encoding: str = "utf-8",
        max_files: int = 100,
        max_bytes: int = 64 * MEBIBYTE,
        position: dict[str, Any] | None = None,
        timeout: float = 30.0,
        idle_timeout: float = 60.0,
        passive: bool = True,
        cacert: str | os.PathLike[str] | None = None,
        known_hosts: str | os.PathLike[str] | None = None,
        private_key: str | os.PathLike[str] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.endpoint = Endpoint.from_arguments("FtpInlet", url, password, timeout, passive, cacert, known_hosts,
                                                private_key)
        if not isinstance(pattern, str) or not pattern or "/" in pattern:
            raise ValueError(f"FtpInlet: pattern must be a non-empty glob of file names (no '/'), got {pattern!r}")
        for name, value in (("max_files", max_files), ("max_bytes", max_bytes)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"FtpInlet: {name} must be a positive integer, got {value!r}")
        self.pattern = pattern
        self.format = check_format("FtpInlet", format, READ_FORMATS)
        self.encoding = check_encoding("FtpInlet", encoding)
        self.max_files = max_files
        self.max_bytes = max_bytes
        self._read: dict[str, tuple[int, float]] = {}
        self.position = position
        self._connection = Connection(self.endpoint, "FtpInlet", idle_timeout)
        self._lock = threading.Lock()  # pulls of one inlet shared by several links must not interleave

    @property
    def url(self) -> str:
        """The endpoint's URL, without password."""
        return self.endpoint.display

    # -- the position ------------------------------------------------------------------

    @property
    def position(self) -> dict[str, Any]:
        """The files read so far: ``{"files": {name: [size, mtime], ...}}`` (JSON-serialisable).

        Reading gives a copy; assigning a saved one carries on from there, and assigning
        ``None`` (or ``{"files": {}}``) reads every matching file again.
        """
        return {"files": {name: [size, mtime] for name, (size, mtime) in self._read.items()}}

    @position.setter
    def position(self, value: dict[str, Any] | None) -> None:
        self._read = _checked_position(value)

    def get_state(self) -> dict[str, Any]:
        """The :attr:`position`: on a link with a stage it is committed with the records
        each pull produced, and given back to :meth:`set_state` on restart."""
        return self.position

    def set_state(self, state: dict[str, Any] | None) -> None:
        """Carry on from ``state``, a :attr:`position` saved by :meth:`get_state`."""
        with self._lock:
            self.position = state

    # -- pulling ---------------------------------------------------------------------------

    def pull(self, update: Update) -> list[Record]:
        """Read the files that are new or changed since the previous pull, within the bounds.

        :param update: Update object representing the particular Link transfer.
        """
        with self._lock:
            records, self._read = self._connection.run(self._pull_from)
            return records

    def _pull_from(self, session: RemoteSession) -> tuple[list[Record], dict[str, tuple[int, float]]]:
        """The records of the files to read now, and the position after them."""
        listed = session.list_files(self._accepts)
        read = {f.name: known for f in listed if (known := self._read.get(f.name)) is not None}
        due = sorted((f for f in listed if read.get(f.name) != (f.size, f.mtime)), key=lambda f: (f.mtime, f.name))
        records: list[Record] = []
        budget = self.max_bytes
        for count, remote in enumerate(due):
            if count == self.max_files or remote.size > budget:
                if not records and remote.size > self.max_bytes:
                    raise _too_large(session, remote, self.max_bytes)
                break
            content = session.download(remote.name, remote.size)
            if content is None:
                _LOGGER.debug("FtpInlet: %s changed while it was read; reading it at a later pull",
                              self.endpoint.where(remote.name))
                continue
            try:
                payloads = decode(self.format, content, self.encoding, self.endpoint.where(remote.name))
            except FtpFormatError:
                if records:
                    break  # produce the files before it; the next pull reports it
                raise
            metadata = {self.FILE: remote.name}
            records.extend(self.new_record(payload, metadata) for payload in payloads)
            read[remote.name] = (remote.size, remote.mtime)
            budget -= remote.size
        return records, read

    def _accepts(self, name: str) -> bool:
        if name.startswith(".") and not self.pattern.startswith("."):
            return False
        if "/" in name or any(ord(c) < 32 for c in name):
            return False  # not a name in this directory (a listing is the server's word, not ours)
        return fnmatch.fnmatchcase(name, self.pattern)

    def on_shutdown(self) -> None:
        """Log out and close the connection."""
        self._connection.close()

    def __repr__(self) -> str:
        if self.metadata:
            return f"FtpInlet({self.endpoint.display}, pattern={self.pattern!r}, metadata={self.metadata})"
        return f"FtpInlet({self.endpoint.display}, pattern={self.pattern!r})"


def _too_large(session: RemoteSession, remote: RemoteFile, limit: int) -> Exception:
    return FtpFormatError(f"{session.describe('read', remote.name)}: it holds {remote.size} bytes, more than "
                          f"max_bytes={limit}; raise max_bytes to read it")


def _checked_position(value: Any) -> dict[str, tuple[int, float]]:
    """The files of a position given by a user (or a stage), checked."""
    if value is None:
        return {}
    files = value.get("files") if isinstance(value, dict) else None
    if not isinstance(files, dict) or set(value) != {"files"}:
        raise ValueError(f"FtpInlet: a position is {{'files': {{name: [size, mtime], ...}}}}, got {value!r}"[:300])
    checked = {}
    for name, entry in files.items():
        if not (isinstance(name, str) and isinstance(entry, list | tuple) and len(entry) == 2
                and isinstance(entry[0], int) and isinstance(entry[1], int | float)):
            raise ValueError(f"FtpInlet: position entry {name!r}: {entry!r} is not [size, mtime]")
        checked[name] = (entry[0], float(entry[1]))
    return checked
