"""SFTP sessions, with paramiko.

The server's host key must be known: it is looked up in the endpoint's ``known_hosts``
file, or else in ``~/.ssh/known_hosts``, under ``host`` (port 22) or ``[host]:port``, as
OpenSSH writes it. An unknown or different key refuses the connection; keys are never
added automatically. Authentication is by password, or by the endpoint's
``private_key`` (the password then unlocks the key if it is encrypted); without either,
the usual key files of ``~/.ssh`` are tried. No SSH agent is used.
"""

from __future__ import annotations

import contextlib
import errno
import stat
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import paramiko

from databay_ftp.errors import FtpAuthenticationError, FtpConnectionError, FtpError, FtpOperationError
from databay_ftp.remote import RemoteFile, RemoteSession

if TYPE_CHECKING:
    from databay_ftp.endpoint import Endpoint


class _UnknownHostKey(Exception):
    """The server's host key is in none of the known_hosts files."""


class _RejectUnknownHosts(paramiko.MissingHostKeyPolicy):
    def __init__(self, known_hosts: str):
        self.known_hosts = known_hosts

    def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
        raise _UnknownHostKey(f"its {key.get_name()} host key is not in {self.known_hosts} under {hostname!r}")


class SftpSession(RemoteSession):
    """A logged-in SFTP channel whose current directory is the endpoint's."""

    def __init__(self, endpoint: Endpoint, owner: str):
        self._client = paramiko.SSHClient()
        self._sftp: paramiko.SFTPClient | None = None
        super().__init__(endpoint, owner)

    def _log_in(self) -> None:
        endpoint, client = self.endpoint, self._client
        with self._translated("connect to", None):
            if endpoint.known_hosts is not None:
                client.load_host_keys(endpoint.known_hosts)
            else:
                client.load_system_host_keys()
            client.set_missing_host_key_policy(_RejectUnknownHosts(endpoint.known_hosts or "~/.ssh/known_hosts"))
            client.connect(
                endpoint.host, endpoint.port, username=endpoint.user, password=endpoint.password,
                key_filename=endpoint.private_key, timeout=endpoint.timeout, banner_timeout=endpoint.timeout,
                auth_timeout=endpoint.timeout, channel_timeout=endpoint.timeout, allow_agent=False,
                look_for_keys=endpoint.password is None and endpoint.private_key is None)
            self._sftp = client.open_sftp()
            self._sftp.get_channel().settimeout(endpoint.timeout)  # type: ignore[union-attr]
        with self._translated("open the directory", None):
            self._sftp.chdir(endpoint.directory or ".")

    @property
    def sftp(self) -> paramiko.SFTPClient:
        assert self._sftp is not None
        return self._sftp

    # -- operations ----------------------------------------------------------------------

    def upload(self, name: str, data: bytes) -> None:
        with self._translated("upload", name):
            with self.sftp.open(name, "wb") as remote:
                if data:
                    # Writes are pipelined (not waiting for each answer), but paramiko drops the
                    # errors of pipelined writes when the file is closed. The last byte is
                    # written unpipelined: paramiko then reads every pending answer first, and
                    # raises the server's error (e.g. no space left) if one failed.
                    remote.set_pipelined(True)
                    remote.write(data[:-1])
                    remote.flush()
                    remote.set_pipelined(False)
                    remote.write(data[-1:])
                    remote.flush()

    def rename(self, source: str, target: str) -> None:
        sftp = self.sftp
        with self._translated("rename", source, f" to {target}"):
            try:
                sftp.posix_rename(source, target)  # replaces target (an OpenSSH extension)
            except OSError as refused:
                if "support" not in str(refused).lower():
                    raise
                # A server without posix-rename: plain rename fails if target exists.
                with contextlib.suppress(OSError):
                    sftp.remove(target)
                sftp.rename(source, target)

    def remove(self, name: str) -> None:
        with self._translated("delete", name):
            self.sftp.remove(name)

    def make_directory(self, path: str) -> None:
        sftp = self.sftp
        with self._translated("create the directory", path):
            try:
                sftp.mkdir(path)
            except OSError:
                try:
                    if stat.S_ISDIR(sftp.stat(path).st_mode or 0):
                        return
                except OSError:
                    pass
                raise

    def list_files(self, accept: Callable[[str], bool]) -> list[RemoteFile]:
        with self._translated("list", None):
            entries = self.sftp.listdir_attr(".")
        return [RemoteFile(entry.filename, entry.st_size or 0, float(entry.st_mtime or 0))
                for entry in entries
                if stat.S_ISREG(entry.st_mode or 0) and accept(entry.filename)]

    def download(self, name: str, size: int) -> bytes | None:
        with self._translated("download", name):
            with self.sftp.open(name, "rb") as remote:
                remote.prefetch(size)
                data = remote.read(size + 1)
        return data if len(data) == size else None

    def ping(self) -> None:
        with self._translated("reach", None):
            self.sftp.stat(".")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            if self._sftp is not None:
                self._sftp.close()
        self._client.close()  # stops paramiko's transport thread

    # -- errors --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(self, doing: str, name: str | None, detail: str = "") -> Iterator[None]:
        """Turn what paramiko and the socket raise into one error naming the endpoint and file."""
        try:
            yield
        except FtpError:
            raise
        except _UnknownHostKey as exc:
            raise FtpAuthenticationError(
                f"{self.describe(doing, name, detail)}: cannot verify the server: {exc} (add it, e.g. with "
                f"ssh-keyscan, or give a known_hosts file)") from None
        except paramiko.BadHostKeyException as exc:
            raise FtpAuthenticationError(
                f"{self.describe(doing, name, detail)}: the server's host key is not the one in known_hosts "
                f"(got {exc.key.get_name()} {exc.key.fingerprint}): someone may be impersonating it, or its key "
                f"changed") from None
        except paramiko.AuthenticationException as exc:
            raise FtpAuthenticationError(
                f"{self.describe(doing, name, detail)}: the server refused the user name, password or key: "
                f"{exc}") from None
        except (TimeoutError, paramiko.SSHException, EOFError, ConnectionError) as exc:
            raise FtpConnectionError(f"{self.describe(doing, name, detail)}: {self._reason(exc)}") from exc
        except OSError as exc:
            transport = self._client.get_transport()
            if transport is None or not transport.is_active():
                raise FtpConnectionError(f"{self.describe(doing, name, detail)}: {self._reason(exc)}") from exc
            # The server answered with an error status: the session is still usable.
            error = FtpOperationError(f"{self.describe(doing, name, detail)}: the server refused it: {_reason(exc)}")
            error.errno = exc.errno
            if error.errno is None and "no space" in str(exc).lower():
                error.errno = errno.ENOSPC
            raise error from exc

    def _reason(self, exc: BaseException) -> str:
        """Why the connection failed: the transport's own error (a banner that never came)
        says more than the one raised afterwards ("No existing session")."""
        transport = self._client.get_transport()
        failure = transport.get_exception() if transport is not None else None
        if failure is None and str(exc) == "No existing session":
            # connect() stopped waiting for the handshake before the transport gave up on it
            return f"no SSH handshake within {self.endpoint.timeout:g} s"
        return _reason(failure or exc)



def _reason(exc: BaseException) -> str:
    if isinstance(exc, paramiko.ssh_exception.NoValidConnectionsError) and exc.errors:
        exc = next(iter(exc.errors.values()))
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, EOFError):
        return "the server closed the connection"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
