"""Real FTP, FTPS and SFTP servers on loopback, for tests and benchmarks.

Each :class:`LocalServer` runs in a process of its own (``python -m databay_ftp.testing``,
a :class:`databay.testing.ServerProcess`: it ends with the test process at the latest),
serving a local folder: FTP and FTPS with pyftpdlib (FTPS with a certificate from a test
authority made by trustme), SFTP with asyncssh's server (with a fresh Ed25519 host key).
They need the ``databay-ftp[test]`` extra. Nothing here imports pytest::

    from databay_ftp.testing import LocalServer

    with LocalServer("sftp") as server:       # a free port; stopped on exit
        outlet = FtpOutlet(server.url, password=server.password, **server.options)

Two users can log in with :attr:`LocalServer.password`: ``databay`` (reads and writes) and
``reader`` (reads only: every write is refused with "permission denied"). Writing the
number of bytes the served folder may hold into :attr:`LocalServer.quota_file` makes
writes beyond it fail with "no space left on device" until the file is removed.
:meth:`LocalServer.stop` and :meth:`LocalServer.start` restart a server on the same port
with the same keys.

:func:`server_for_tests` gives the server named by ``$DATABAY_TEST_FTP_URL``,
``$DATABAY_TEST_FTPS_URL`` or ``$DATABAY_TEST_SFTP_URL`` instead, when set (with the
password in ``$DATABAY_TEST_<SCHEME>_PASSWORD``, and ``$DATABAY_TEST_FTPS_CACERT`` or
``$DATABAY_TEST_SFTP_KNOWN_HOSTS`` when needed).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from databay.testing import ServerProcess, free_port

__all__ = ["SCHEMES", "LocalServer", "ServerInfo", "external_server", "free_port", "server_for_tests"]

SCHEMES = ("ftp", "ftps", "sftp")
WRITER = "databay"
READER = "reader"


@dataclass(frozen=True)
class ServerInfo:
    """How to reach a test server: its URL (no password), the password, the options its
    components need (``cacert``, ``known_hosts``), and the served folder if it is local."""

    scheme: str
    url: str
    password: str
    options: dict[str, str] = field(default_factory=dict)
    root: Path | None = None


class LocalServer:
    """An FTP, FTPS or SFTP server on ``host:port``, serving ``root``, in a process of its own.

    :param scheme: ``'ftp'``, ``'ftps'`` or ``'sftp'``.
    :param root: The folder served (``None``: a new temporary one, removed by :meth:`close`).
    :param port: The port (``None``: a free one, kept across restarts).
    :param host: The loopback address to listen on.
    :param startup_timeout: Seconds to wait for the server to accept connections.
    """

    def __init__(self, scheme: str, root: str | os.PathLike[str] | None = None, port: int | None = None,
                 host: str = "127.0.0.1", startup_timeout: float = 30.0):
        if scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
        self.scheme = scheme
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.startup_timeout = startup_timeout
        self.password = secrets.token_urlsafe(12)
        self._workdir = Path(tempfile.mkdtemp(prefix=f"databay-{scheme}-server-"))
        self.root = Path(root) if root is not None else self._workdir / "root"
        self.root.mkdir(parents=True, exist_ok=True)
        self.quota_file = self._workdir / "quota"
        self.options: dict[str, str] = self._make_credentials()
        command = [sys.executable, "-m", "databay_ftp.testing", scheme, "--host", host, "--port", str(self.port),
                   "--root", str(self.root), "--quota-file", str(self.quota_file), "--keys", str(self._workdir)]
        self._process = ServerProcess(command, port=self.port, host=host, name=f"the {scheme} test server",
                                      env={**os.environ, "DATABAY_TEST_SERVER_PASSWORD": self.password},
                                      log_file=self._workdir / "server.log", startup_timeout=startup_timeout)

    def url_for(self, user: str = WRITER, directory: str = "/") -> str:
        """The URL of ``directory`` (absolute, in the served folder) for ``user``."""
        return f"{self.scheme}://{user}@{self.host}:{self.port}{directory}"

    @property
    def url(self) -> str:
        """The URL of the served folder for the ``databay`` user (no password)."""
        return self.url_for()

    @property
    def info(self) -> ServerInfo:
        """This server as a :class:`ServerInfo`."""
        return ServerInfo(self.scheme, self.url, self.password, dict(self.options), self.root)

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.running

    def start(self) -> LocalServer:
        """Start the server and wait until it accepts connections.

        :raises RuntimeError: it exited or did not listen in time, with its output.
        """
        self._process.start()
        return self

    def stop(self) -> None:
        """Stop the server (the served files stay); :meth:`start` starts it again."""
        self._process.stop()

    def close(self) -> None:
        """Stop the server and remove its keys and (unless given) the served folder."""
        self.stop()
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _make_credentials(self) -> dict[str, str]:
        """The server's certificate or host key, and the options that make a client trust it."""
        if self.scheme == "ftps":
            import trustme

            authority = trustme.CA()
            certificate = authority.issue_cert(self.host, "localhost")
            certificate.private_key_and_cert_chain_pem.write_to_path(str(self._workdir / "server.pem"))
            authority.cert_pem.write_to_path(str(self._workdir / "ca.pem"))
            return {"cacert": str(self._workdir / "ca.pem")}
        if self.scheme == "sftp":
            import asyncssh

            key = asyncssh.generate_private_key("ssh-ed25519")
            key.write_private_key(str(self._workdir / "host_key"))
            public = key.export_public_key().decode().split()[:2]
            known_hosts = self._workdir / "known_hosts"
            known_hosts.write_text(f"[{self.host}]:{self.port} {' '.join(public)}\n")
            return {"known_hosts": str(known_hosts)}
        return {}


# -- servers given by the environment ----------------------------------------------------

def external_server(scheme: str) -> ServerInfo | None:
    """The server ``$DATABAY_TEST_<SCHEME>_URL`` names, if set (see the module's docs)."""
    prefix = f"DATABAY_TEST_{scheme.upper()}_"
    url = os.environ.get(prefix + "URL")
    if not url:
        return None
    options = {}
    if scheme == "ftps" and os.environ.get(prefix + "CACERT"):
        options["cacert"] = os.environ[prefix + "CACERT"]
    if scheme == "sftp" and os.environ.get(prefix + "KNOWN_HOSTS"):
        options["known_hosts"] = os.environ[prefix + "KNOWN_HOSTS"]
    return ServerInfo(scheme, url, os.environ.get(prefix + "PASSWORD", ""), options)


@contextlib.contextmanager
def server_for_tests(scheme: str) -> Iterator[ServerInfo]:
    """A server for the ``with`` block: the external one of :func:`external_server`, else a
    :class:`LocalServer`."""
    external = external_server(scheme)
    if external is not None:
        yield external
        return
    with LocalServer(scheme) as server:
        yield server.info


# -- the server processes ----------------------------------------------------------------

class _Quota:
    """The byte limit of the served folder, read from a file at each write (absent: none)."""

    def __init__(self, root: str, quota_file: str):
        self.root = root
        self.quota_file = quota_file

    def room(self) -> int | None:
        """Bytes that may still be written, or ``None`` for no limit."""
        try:
            limit = int(Path(self.quota_file).read_text())
        except (OSError, ValueError):
            return None
        used = sum(entry.stat().st_size for entry in Path(self.root).rglob("*") if entry.is_file())
        return limit - used

    def check(self, written: int) -> None:
        """Refuse a file that has ``written`` bytes so far, if they do not fit (or nothing does)."""
        room = self.room()
        if room is not None and (written > room or room <= 0):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def _serve_ftp(args: argparse.Namespace, password: str) -> None:
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.filesystems import AbstractedFS
    from pyftpdlib.handlers import FTPHandler, TLS_FTPHandler
    from pyftpdlib.servers import FTPServer

    quota = _Quota(args.root, args.quota_file)

    class QuotaFile:
        def __init__(self, file: Any):
            self._file = file
            self._written = 0

        def write(self, data: bytes) -> int:
            self._written += len(data)
            quota.check(self._written)
            return self._file.write(data)

        def __getattr__(self, name: str) -> Any:
            return getattr(self._file, name)

    class QuotaFS(AbstractedFS):
        def open(self, filename: str, mode: str) -> Any:
            if "w" in mode or "a" in mode:
                quota.check(0)  # refused at STOR: pyftpdlib's reply to a failed write lacks the reason
                return QuotaFile(super().open(filename, mode))
            return super().open(filename, mode)

    authorizer = DummyAuthorizer()
    authorizer.add_user(WRITER, password, args.root, perm="elradfmwMT")
    authorizer.add_user(READER, password, args.root, perm="elr")
    base = TLS_FTPHandler if args.scheme == "ftps" else FTPHandler
    handler: Any = type("Handler", (base,), {"authorizer": authorizer, "abstracted_fs": QuotaFS,
                                            "banner": "databay test server"})
    if args.scheme == "ftps":
        handler.certfile = str(Path(args.keys) / "server.pem")
        handler.tls_control_required = True
        handler.tls_data_required = True
    server = FTPServer((args.host, args.port), handler)
    server.serve_forever()


def _serve_sftp(args: argparse.Namespace, password: str) -> None:
    import asyncio

    import asyncssh

    quota = _Quota(args.root, args.quota_file)

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            return username in (WRITER, READER) and secrets.compare_digest(given, password)

    class Files(asyncssh.SFTPServer):
        def __init__(self, chan: Any):
            super().__init__(chan, chroot=args.root.encode())
            self.read_only = chan.get_extra_info("username") == READER
            self.written: dict[int, int] = {}

        def _refuse_writes(self) -> None:
            if self.read_only:
                raise PermissionError(errno.EACCES, "Permission denied")

        def open(self, path: bytes, pflags: int, attrs: Any) -> Any:
            if pflags & asyncssh.FXF_WRITE:
                self._refuse_writes()
            return super().open(path, pflags, attrs)

        def write(self, file_obj: Any, offset: int, data: bytes) -> Any:
            self.written[id(file_obj)] = self.written.get(id(file_obj), 0) + len(data)
            quota.check(self.written[id(file_obj)])
            return super().write(file_obj, offset, data)

        def close(self, file_obj: Any) -> Any:
            self.written.pop(id(file_obj), None)
            return super().close(file_obj)

        def remove(self, path: bytes) -> Any:
            self._refuse_writes()
            return super().remove(path)

        def rename(self, oldpath: bytes, newpath: bytes) -> Any:
            self._refuse_writes()
            return super().rename(oldpath, newpath)

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> Any:
            self._refuse_writes()
            return super().posix_rename(oldpath, newpath)

        def mkdir(self, path: bytes, attrs: Any) -> Any:
            self._refuse_writes()
            return super().mkdir(path, attrs)

    async def serve() -> None:
        await asyncssh.listen(args.host, args.port, server_host_keys=[str(Path(args.keys) / "host_key")],
                              server_factory=Server, sftp_factory=Files, allow_scp=False)
        await asyncio.Event().wait()

    asyncio.run(serve())


def main(argv: list[str] | None = None) -> None:
    """Run one test server until terminated (the password comes from
    ``$DATABAY_TEST_SERVER_PASSWORD``)."""
    parser = argparse.ArgumentParser(prog="python -m databay_ftp.testing", description=main.__doc__)
    parser.add_argument("scheme", choices=SCHEMES)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--quota-file", required=True)
    parser.add_argument("--keys", required=True, help="the folder with server.pem or host_key")
    args = parser.parse_args(argv)
    password = os.environ["DATABAY_TEST_SERVER_PASSWORD"]
    if args.scheme == "sftp":
        _serve_sftp(args, password)
    else:
        _serve_ftp(args, password)


if __name__ == "__main__":
    main()
