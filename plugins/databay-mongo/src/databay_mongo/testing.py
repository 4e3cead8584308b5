"""A throwaway MongoDB server for tests and benchmarks: nx-27017 run as a subprocess.

nx-27017 (``pip install nx-27017``, part of the ``databay-mongo[test]`` extra) speaks the
MongoDB wire protocol and stores data in SQLite. Here it keeps everything in memory and
listens on a loopback port::

    from databay_mongo.testing import running_server

    with running_server() as uri:          # a free port; stopped (and its data gone) on exit
        client = pymongo.MongoClient(uri)

:func:`server_for_tests` does the same unless ``$DATABAY_TEST_MONGO_URI`` names a server
to use instead (a real ``mongod``). :class:`NxServer` gives finer control, e.g. stopping and restarting the server on the same
port to test what happens when it goes away mid-run. Nothing here imports pytest.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["TEST_URI_VARIABLE", "NxServer", "external_test_uri", "free_port", "running_server", "server_for_tests",
           "wait_until_ready"]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_ready(uri: str, timeout: float = 30.0) -> None:
    """Wait until the server at ``uri`` answers ``ping``; ``TimeoutError`` if it never does."""
    import pymongo
    from pymongo.errors import PyMongoError

    deadline = time.monotonic() + timeout
    client: pymongo.MongoClient = pymongo.MongoClient(uri, serverSelectionTimeoutMS=250, connectTimeoutMS=250)
    try:
        while True:
            try:
                client.admin.command("ping")
                return
            except PyMongoError as exc:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"MongoDB at {uri} did not answer ping within {timeout}s: {exc}") from None
                time.sleep(0.05)
    finally:
        client.close()


class NxServer:
    """One nx-27017 server process on ``host:port``, with in-memory storage by default.

    :param port: Port to listen on; ``None`` picks a free one (kept across restarts).
    :param host: Loopback address to bind.
    :param python: Interpreter that has nx-27017 installed (default: this one).
    :param startup_timeout: Seconds to wait for the server to answer ``ping``.
    :param db_path: An SQLite file to keep the data in, so that it survives :meth:`stop`
        and :meth:`start` (``None``: in memory, gone when the server stops).
    """

    def __init__(self, port: int | None = None, host: str = "127.0.0.1", python: str | None = None,
                 startup_timeout: float = 30.0, db_path: str | os.PathLike | None = None):
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.python = python or sys.executable
        self.startup_timeout = startup_timeout
        self.db_path = None if db_path is None else os.fspath(db_path)
        self._process: subprocess.Popen | None = None
        self._workdir: str | None = None

    @property
    def uri(self) -> str:
        """``mongodb://host:port/`` of this server."""
        return f"mongodb://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> str:
        """Start the server and wait until it answers; returns :attr:`uri`.

        :raises RuntimeError: nx-27017 exited (e.g. not installed, port taken), with its output.
        """
        if self.running:
            return self.uri
        self._workdir = tempfile.mkdtemp(prefix="databay-nx27017-")
        log = Path(self._workdir, "server.log")
        command = [
            self.python, "-m", "nx_27017.nx_27017", "--db", self.db_path or "memory",
            "--host", self.host, "--port", str(self.port),
            "--pid-file", str(Path(self._workdir, "server.pid")), "--log-file", str(log),
        ]
        # Its console output goes to the log file too, so that nothing blocks on a full pipe.
        with open(Path(self._workdir, "console.log"), "wb") as console:
            self._process = subprocess.Popen(command, stdout=console, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, cwd=self._workdir)
        deadline = time.monotonic() + self.startup_timeout
        while not _accepts(self.host, self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = self._console()
                self.stop()
                raise RuntimeError(f"nx-27017 did not start on {self.host}:{self.port}: {output[-2000:]}")
            time.sleep(0.02)
        wait_until_ready(self.uri, max(1.0, deadline - time.monotonic()))
        return self.uri

    def stop(self) -> None:
        """Stop the server (in-memory data is lost; ``db_path`` is kept) and remove its other files."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
        # The port is free once nothing accepts connections on it any more.
        deadline = time.monotonic() + 10
        while _accepts(self.host, self.port) and time.monotonic() < deadline:
            time.sleep(0.02)
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _console(self) -> str:
        if self._workdir is None:
            return ""
        try:
            return Path(self._workdir, "console.log").read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> NxServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_server(port: int | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Run nx-27017 on ``host:port`` (a free port by default) for the ``with`` block.

    Yields the server's ``mongodb://`` URI. The server keeps its data in memory and is
    stopped when the block ends.
    """
    server = NxServer(port=port, host=host)
    server.start()
    try:
        yield server.uri
    finally:
        server.stop()


def _accepts(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


# Set by test runners that provide their own server instead of nx-27017.
TEST_URI_VARIABLE = "DATABAY_TEST_MONGO_URI"


def external_test_uri() -> str | None:
    """The URI of an externally provided test server (``$DATABAY_TEST_MONGO_URI``), if any."""
    return os.environ.get(TEST_URI_VARIABLE) or None


@contextlib.contextmanager
def server_for_tests() -> Iterator[str]:
    """The URI of a MongoDB server for tests, for the ``with`` block: the one at
    ``$DATABAY_TEST_MONGO_URI`` when it is set, else nx-27017 run by :func:`running_server`."""
    external = external_test_uri()
    if external is not None:
        yield external
        return
    with running_server() as uri:
        yield uri
