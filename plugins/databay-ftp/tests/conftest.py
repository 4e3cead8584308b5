"""Servers for databay-ftp's tests: FTP, FTPS (pyftpdlib) and SFTP (asyncssh), each started
once per session on a free loopback port, or the servers named by ``$DATABAY_TEST_FTP_URL``,
``$DATABAY_TEST_FTPS_URL`` and ``$DATABAY_TEST_SFTP_URL`` (see ``databay_ftp.testing``).

Each test gets a fresh directory on the server (``remote``), checked with plain ftplib and
paramiko clients, independent of the plugin's code.
"""

from __future__ import annotations

import contextlib
import ftplib
import io
import itertools
import os
import posixpath
import ssl
import stat
from collections.abc import Iterator
from pathlib import Path

import paramiko
import pytest
from databay import Update
from databay_ftp.testing import SCHEMES, LocalServer, ServerInfo, external_server

_directories = itertools.count()


class RawClient:
    """A plain ftplib or paramiko client of one directory, to check what the components did."""

    def __init__(self, info: ServerInfo, directory: str):
        self.info = info
        self.directory = directory
        self.scheme = info.scheme
        scheme, rest = info.url.split("://", 1)
        user_host, _, _ = rest.partition("/")
        self.user, _, host_port = user_host.rpartition("@")
        self.host, _, port = host_port.rpartition(":")
        self.port = int(port)
        self._ftp: ftplib.FTP | None = None
        self._ssh: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    def __enter__(self) -> RawClient:
        if self.scheme == "sftp":
            self._ssh = paramiko.SSHClient()
            self._ssh.load_host_keys(self.info.options["known_hosts"]) if "known_hosts" in self.info.options \
                else self._ssh.load_system_host_keys()
            self._ssh.connect(self.host, self.port, self.user, self.info.password, allow_agent=False,
                              look_for_keys=False, timeout=10)
            self._sftp = self._ssh.open_sftp()
        else:
            if self.scheme == "ftps":
                ftp: ftplib.FTP = ftplib.FTP_TLS(context=ssl.create_default_context(
                    cafile=self.info.options.get("cacert")), timeout=10)
            else:
                ftp = ftplib.FTP(timeout=10)
            ftp.connect(self.host, self.port)
            ftp.login(self.user, self.info.password)
            if isinstance(ftp, ftplib.FTP_TLS):
                ftp.prot_p()
            self._ftp = ftp
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._ftp is not None:
            with contextlib.suppress(*ftplib.all_errors):
                self._ftp.quit()
            self._ftp.close()
        if self._ssh is not None:
            self._ssh.close()

    def _path(self, name: str) -> str:
        return posixpath.join(self.directory, name) if name else self.directory

    def makedirs(self, name: str = "") -> None:
        path = self._path(name)
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:depth])
            with contextlib.suppress(OSError, ftplib.error_perm):
                self._sftp.mkdir(sub) if self._sftp is not None else self._ftp.mkd(sub)

    def write(self, name: str, data: bytes) -> None:
        if self._sftp is not None:
            self._sftp.putfo(io.BytesIO(data), self._path(name))
        else:
            self._ftp.storbinary(f"STOR {self._path(name)}", io.BytesIO(data))

    def remove(self, name: str) -> None:
        if self._sftp is not None:
            self._sftp.remove(self._path(name))
        else:
            self._ftp.delete(self._path(name))

    def read(self, name: str) -> bytes:
        out = io.BytesIO()
        if self._sftp is not None:
            self._sftp.getfo(self._path(name), out)
        else:
            self._ftp.retrbinary(f"RETR {self._path(name)}", out.write)
        return out.getvalue()

    def names(self, name: str = "") -> list[str]:
        """Every file under ``name`` (recursively), relative to the directory, sorted."""
        found = []
        for entry, is_directory in self._entries(self._path(name)):
            relative = posixpath.join(name, entry) if name else entry
            if is_directory:
                found.extend(self.names(relative))
            else:
                found.append(relative)
        return sorted(found)

    def _entries(self, path: str) -> list[tuple[str, bool]]:
        if self._sftp is not None:
            return [(e.filename, stat.S_ISDIR(e.st_mode or 0)) for e in self._sftp.listdir_attr(path)]
        return [(n, f["type"] == "dir") for n, f in self._ftp.mlsd(path) if f["type"] in ("dir", "file")]

    def files(self) -> dict[str, bytes]:
        """Every file under the directory, by relative name, with its content."""
        return {name: self.read(name) for name in self.names()}


class Remote:
    """A fresh directory on a test server: where the components go, and a way to check it."""

    def __init__(self, info: ServerInfo, directory: str, local: LocalServer | None):
        self.info = info
        self.scheme = info.scheme
        self.directory = directory
        self.server = local
        self.url = _origin(info.url) + directory
        self.password = info.password
        self.options = dict(info.options)

    def client(self) -> RawClient:
        return RawClient(self.info, self.directory)

    def files(self) -> dict[str, bytes]:
        with self.client() as client:
            return client.files()

    def write(self, name: str, data: bytes) -> None:
        with self.client() as client:
            if "/" in name:
                client.makedirs(posixpath.dirname(name))
            client.write(name, data)

    def remove(self, name: str) -> None:
        with self.client() as client:
            client.remove(name)

    def components_kwargs(self) -> dict:
        return {"password": self.password, **self.options}

    @property
    def local(self) -> Path | None:
        """The directory in the served folder, when the server is a local one."""
        return None if self.server is None else self.server.root / self.directory.lstrip("/")

    def set_quota(self, limit: int | None) -> None:
        assert self.server is not None
        if limit is None:
            self.server.quota_file.unlink(missing_ok=True)
        else:
            self.server.quota_file.write_text(str(limit))


@pytest.fixture(scope="session")
def servers() -> Iterator[dict[str, tuple[ServerInfo, LocalServer | None]]]:
    """The test server of each scheme, started on first use."""
    started: dict[str, tuple[ServerInfo, LocalServer | None]] = {}
    local: list[LocalServer] = []

    class Servers(dict):
        def __missing__(self, scheme: str) -> tuple[ServerInfo, LocalServer | None]:
            external = external_server(scheme)
            if external is not None:
                self[scheme] = (external, None)
            else:
                server = LocalServer(scheme).start()
                local.append(server)
                self[scheme] = (server.info, server)
            return self[scheme]

    found = Servers(started)
    yield found
    for server in local:
        server.close()


def _origin(url: str) -> str:
    """``scheme://user@host:port`` of a URL."""
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{rest.partition('/')[0]}"


def _base_directory(url: str) -> str:
    """The URL's directory, ``""`` for the root."""
    path = url.split("://", 1)[1].partition("/")[2].strip("/")
    return f"/{path}" if path else ""


@pytest.fixture(params=SCHEMES)
def scheme(request) -> str:
    return request.param


def new_remote(servers, scheme: str, name: str) -> Remote:
    """A new, empty directory ``name`` on the ``scheme`` server (of the ``servers`` fixture)."""
    info, local = servers[scheme]
    made = Remote(info, f"{_base_directory(info.url)}/{name}", local)
    with made.client() as client:
        client.makedirs()
    return made


@pytest.fixture
def remote(servers, scheme: str) -> Remote:
    """A new, empty directory on the ``scheme`` server, for this test."""
    return new_remote(servers, scheme, f"test-{os.getpid()}-{next(_directories)}")


@pytest.fixture
def local_only(remote: Remote) -> Remote:
    """``remote``, on a server these tests started (skips with an external server)."""
    if remote.server is None:
        pytest.skip("needs a server started by the tests (it changes its quota, users, files or runs)")
    return remote


@pytest.fixture
def update() -> Update:
    return Update(["test"], 1)
