"""What the components do on a server, whatever the protocol: :class:`RemoteSession`.

A session is one logged-in connection whose current directory is the endpoint's
directory; names are relative to it (``2024/05/01/batch.jsonl``). :func:`open_session`
opens the right kind: FTP and FTPS with the standard library (:mod:`databay_ftp.ftp_session`),
SFTP with paramiko (:mod:`databay_ftp.sftp_session`, imported only when needed).

Every method raises the errors of :mod:`databay_ftp.errors`, naming the endpoint and the
file; :class:`~databay_ftp.errors.FtpConnectionError` means the session is no longer usable.
"""

from __future__ import annotations

import contextlib
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from databay_ftp.endpoint import Endpoint

_MAX_KNOWN_DIRECTORIES = 1024  # directories a session remembers having made, before it forgets them all


@dataclass(frozen=True)
class RemoteFile:
    """A regular file in the endpoint's directory, as the server lists it."""

    name: str
    size: int
    mtime: float
    """Modification time, Unix seconds (whole seconds on most servers)."""


class RemoteSession(ABC):
    """One connection to an endpoint, in its directory. Not thread-safe: one user at a time.

    Subclasses make their client, then call ``super().__init__()``, which logs in (and
    closes the client if that fails).
    """

    def __init__(self, endpoint: Endpoint, owner: str):
        self.endpoint = endpoint
        self.owner = owner
        self._directories: set[str] = set()
        try:
            self._log_in()
        except BaseException:
            self.close()
            raise

    # -- what each protocol implements ------------------------------------------------

    @abstractmethod
    def _log_in(self) -> None:
        """Connect, log in and enter the endpoint's directory."""

    @abstractmethod
    def upload(self, name: str, data: bytes) -> None:
        """Write ``data`` to ``name``, replacing any file of that name."""

    @abstractmethod
    def rename(self, source: str, target: str) -> None:
        """Rename ``source`` to ``target``, replacing ``target`` if it exists."""

    @abstractmethod
    def remove(self, name: str) -> None:
        """Delete the file ``name``."""

    @abstractmethod
    def make_directory(self, path: str) -> None:
        """Create the directory ``path`` (its parent exists); nothing if it exists already."""

    @abstractmethod
    def list_files(self, accept: Callable[[str], bool]) -> list[RemoteFile]:
        """The regular files of the directory whose names ``accept`` takes (not recursive)."""

    @abstractmethod
    def download(self, name: str, size: int) -> bytes | None:
        """The content of ``name``, or ``None`` if it is not ``size`` bytes long any more
        (it changed since it was listed). Never reads more than ``size + 1`` bytes."""

    @abstractmethod
    def ping(self) -> None:
        """A cheap round trip: raises :class:`~databay_ftp.errors.FtpConnectionError` if the
        connection is gone."""

    @abstractmethod
    def close(self) -> None:
        """Log out and close the connection (never raises)."""

    # -- built on them -----------------------------------------------------------------

    def make_directories(self, path: str) -> None:
        """Create ``path`` and its missing parents (those made before are remembered)."""
        if not path or path in self._directories:
            return
        self.make_directories(posixpath.dirname(path))
        self.make_directory(path)
        if len(self._directories) >= _MAX_KNOWN_DIRECTORIES:
            self._directories.clear()
        self._directories.add(path)

    def put_atomically(self, name: str, data: bytes, token: str) -> None:
        """Upload ``data`` under a temporary name, then rename it to ``name``: a reader of the
        directory sees either no file or the whole file, never part of it.

        The temporary name is hidden (``.<name>.<token>.part``, in the same directory) and
        removed if the upload fails. Missing directories of ``name`` are created.
        """
        directory, base = posixpath.split(name)
        self.make_directories(directory)
        temporary = posixpath.join(directory, f".{base}.{token}.part")
        try:
            self.upload(temporary, data)
            self.rename(temporary, name)
        except Exception:
            self._remove_quietly(temporary)
            raise

    def describe(self, doing: str, name: str | None, detail: str = "") -> str:
        """The start of an error message: ``FtpOutlet cannot upload ftp://alice@host:21/in/x.csv``."""
        where = self.endpoint.display if name is None else self.endpoint.where(name)
        return f"{self.owner} cannot {doing} {where}{detail}"

    def _remove_quietly(self, name: str) -> None:
        with contextlib.suppress(Exception):  # the upload's own error is the one that matters
            self.remove(name)


def open_session(endpoint: Endpoint, owner: str) -> RemoteSession:
    """A logged-in session in ``endpoint``'s directory; ``owner`` names the component in errors.

    :raises FtpConnectionError: the server cannot be reached.
    :raises FtpAuthenticationError: the login, the certificate or the host key was refused.
    :raises FtpOperationError: the directory cannot be entered (missing, no permission).
    """
    if endpoint.scheme == "sftp":
        from databay_ftp.sftp_session import SftpSession

        return SftpSession(endpoint, owner)
    from databay_ftp.ftp_session import FtpSession

    return FtpSession(endpoint, owner)
