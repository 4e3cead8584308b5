"""FTP and FTPS sessions, with the standard library's :mod:`ftplib`.

``ftps://`` is explicit FTPS: the client asks for TLS (``AUTH TLS``) on the control
connection, then protects the data connections too (``PROT P``). Certificates are
verified against the system's trusted authorities, or the endpoint's ``cacert``, and the
host name must match. Data connections resume the control connection's TLS session, as
servers such as vsftpd and FileZilla Server require.
"""

from __future__ import annotations

import calendar
import contextlib
import errno
import ftplib
import posixpath
import socket
import ssl
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from databay_ftp.errors import FtpAuthenticationError, FtpConnectionError, FtpError, FtpOperationError
from databay_ftp.remote import RemoteFile, RemoteSession

if TYPE_CHECKING:
    from databay_ftp.endpoint import Endpoint

_READ_CHUNK = 256 * 1024
_NOT_IMPLEMENTED = ("500", "501", "502", "504")
_NO_SPACE = ("452", "552")
_CLOSE_TIMEOUT = 2.0  # seconds a QUIT may take before the connection is simply closed


class _Ftp(ftplib.FTP):
    """``FTP`` whose data connections send without delay (see :func:`_without_delay`)."""

    def ntransfercmd(self, cmd: str, rest: Any = None) -> tuple[socket.socket, int | None]:
        conn, size = super().ntransfercmd(cmd, rest)
        return _without_delay(conn), size


class _SessionReusingFtpTls(ftplib.FTP_TLS):
    """``FTP_TLS`` whose data connections resume the control connection's TLS session, and
    send without delay."""

    def ntransfercmd(self, cmd: str, rest: Any = None) -> tuple[socket.socket, int | None]:
        conn, size = ftplib.FTP.ntransfercmd(self, cmd, rest)
        _without_delay(conn)
        if self._prot_p:  # type: ignore[attr-defined]
            control = self.sock
            assert isinstance(control, ssl.SSLSocket)
            conn = self.context.wrap_socket(conn, server_hostname=self.host, session=control.session)
        return conn, size


class FtpSession(RemoteSession):
    """A logged-in FTP or FTPS connection whose current directory is the endpoint's."""

    def __init__(self, endpoint: Endpoint, owner: str):
        if endpoint.scheme == "ftps":
            context = ssl.create_default_context(cafile=endpoint.cacert)
            self._ftp: ftplib.FTP = _SessionReusingFtpTls(context=context, timeout=endpoint.timeout)
        else:
            self._ftp = _Ftp(timeout=endpoint.timeout)
        super().__init__(endpoint, owner)

    def _log_in(self) -> None:
        ftp, endpoint = self._ftp, self.endpoint
        with self._translated("connect to", None):
            ftp.connect(endpoint.host, endpoint.port)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.auth()
        with self._translated("log in to", None):
            ftp.login(endpoint.user, endpoint.password or "")
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
        ftp.set_pasv(endpoint.passive)
        with self._translated("open the directory", None):
            if endpoint.directory:
                ftp.cwd(endpoint.directory)
            self._home = ftp.pwd()

    # -- operations ----------------------------------------------------------------------

    def upload(self, name: str, data: bytes) -> None:
        ftp = self._ftp
        with self._translated("upload", name):
            ftp.voidcmd("TYPE I")
            conn = ftp.transfercmd(f"STOR {name}")
            try:
                with conn:
                    conn.sendall(data)
                    if isinstance(conn, ssl.SSLSocket):
                        conn.unwrap()
            except OSError:
                # The server stopped reading: its reply says why (e.g. "426 No space left on device").
                ftp.voidresp()
                raise
            ftp.voidresp()

    def rename(self, source: str, target: str) -> None:
        with self._translated("rename", source, f" to {target}"):
            try:
                self._ftp.rename(source, target)
            except ftplib.error_perm as refused:
                # Some servers do not replace an existing file on rename.
                try:
                    self._ftp.delete(target)
                except ftplib.error_perm:
                    raise refused from None
                self._ftp.rename(source, target)

    def remove(self, name: str) -> None:
        with self._translated("delete", name):
            self._ftp.delete(name)

    def make_directory(self, path: str) -> None:
        with self._translated("create the directory", path):
            try:
                self._ftp.mkd(path)
            except ftplib.error_perm as refused:
                # It may exist already: then it can be entered.
                try:
                    self._ftp.cwd(path)
                except ftplib.error_perm:
                    raise refused from None
                self._ftp.cwd(self._home)

    def list_files(self, accept: Callable[[str], bool]) -> list[RemoteFile]:
        ftp = self._ftp
        with self._translated("list", None):
            try:
                listed = list(ftp.mlsd())
            except ftplib.error_perm as exc:
                if not str(exc).startswith(_NOT_IMPLEMENTED):
                    raise
                # No MLSD (vsftpd): the names, then SIZE and MDTM of each accepted one.
                listed = [(posixpath.basename(entry), {}) for entry in ftp.nlst()]
            files = []
            for name, facts in listed:
                if facts.get("type", "file").lower() != "file" or not accept(name):
                    continue
                if "size" in facts and "modify" in facts:
                    files.append(RemoteFile(name, int(facts["size"]), _parse_time(facts["modify"])))
                else:
                    found = self._stat(name)
                    if found is not None:
                        files.append(found)
        return files

    def _stat(self, name: str) -> RemoteFile | None:
        """``name``'s size and time by SIZE and MDTM; ``None`` for a directory or a file gone since."""
        ftp = self._ftp
        try:
            ftp.voidcmd("TYPE I")
            size = ftp.size(name)
            modified = ftp.voidcmd(f"MDTM {name}").split()[-1]
        except ftplib.error_perm:
            return None
        return None if size is None else RemoteFile(name, size, _parse_time(modified))

    def download(self, name: str, size: int) -> bytes | None:
        ftp = self._ftp
        with self._translated("download", name):
            ftp.voidcmd("TYPE I")
            chunks: list[bytes] = []
            received = 0
            with ftp.transfercmd(f"RETR {name}") as conn:
                while received <= size:
                    chunk = conn.recv(min(_READ_CHUNK, size + 1 - received))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    received += len(chunk)
                complete = received <= size
                if complete and isinstance(conn, ssl.SSLSocket):
                    conn.unwrap()
            if not complete:
                with contextlib.suppress(ftplib.error_temp, ftplib.error_perm):
                    ftp.voidresp()  # 426: we stopped reading
                return None
            ftp.voidresp()
        return b"".join(chunks) if received == size else None

    def ping(self) -> None:
        with self._translated("reach", None):
            self._ftp.voidcmd("NOOP")

    def close(self) -> None:
        ftp = self._ftp
        if ftp.sock is not None:
            with contextlib.suppress(OSError):
                ftp.sock.settimeout(min(_CLOSE_TIMEOUT, self.endpoint.timeout))
            with contextlib.suppress(*ftplib.all_errors):
                ftp.quit()
        ftp.close()

    # -- errors --------------------------------------------------------------------------

    @contextlib.contextmanager
    def _translated(self, doing: str, name: str | None, detail: str = "") -> Iterator[None]:
        """Turn what ftplib, ssl and the socket raise into one error naming the endpoint and file."""
        try:
            yield
        except FtpError:
            raise
        except ftplib.Error as exc:
            raise self._refused(doing, name, detail, exc) from exc
        except ssl.SSLCertVerificationError as exc:
            raise FtpAuthenticationError(
                f"{self.describe(doing, name, detail)}: cannot verify the server's TLS certificate: "
                f"{exc.verify_message or exc} (to trust a private certificate authority, give its "
                f"certificate as cacert)") from exc
        except (OSError, EOFError) as exc:
            reason = "the server closed the connection" if isinstance(exc, EOFError) else _reason(exc)
            raise FtpConnectionError(f"{self.describe(doing, name, detail)}: {reason}") from exc

    def _refused(self, doing: str, name: str | None, detail: str, exc: ftplib.Error) -> Exception:
        reply = str(exc).strip() or type(exc).__name__
        what = self.describe(doing, name, detail)
        if isinstance(exc, ftplib.error_perm) and reply.startswith("530"):
            return FtpAuthenticationError(f"{what}: the server refused the user name or password: {reply}")
        if not isinstance(exc, ftplib.error_perm | ftplib.error_temp) or reply.startswith(("421", "425")):
            return FtpConnectionError(f"{what}: {reply}")  # an unexpected reply, or the server is closing
        error = FtpOperationError(f"{what}: the server refused it: {reply}")
        if reply.startswith(_NO_SPACE) or "no space" in reply.lower():
            error.errno = errno.ENOSPC
        return error



def _without_delay(conn: socket.socket) -> socket.socket:
    """``conn`` with Nagle's algorithm off: the last small segment of an upload would
    otherwise wait for the server's delayed acknowledgement (40 ms per file on Linux, seen
    on FTPS data connections that resume the TLS session)."""
    with contextlib.suppress(OSError):
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return conn


def _parse_time(value: str) -> float:
    """Unix seconds from an FTP time stamp, ``YYYYMMDDHHMMSS[.fff]`` in UTC."""
    whole, _, fraction = value.strip().partition(".")
    try:
        seconds = calendar.timegm(time.strptime(whole, "%Y%m%d%H%M%S"))
    except ValueError:
        return 0.0
    return seconds + (float(f"0.{fraction}") if fraction.isdigit() else 0.0)


def _reason(exc: OSError) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return exc.strerror or str(exc) or type(exc).__name__
