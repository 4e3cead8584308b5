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
import sys
import time
from collections.abc import Iterator

from databay.testing import ManagedServer, ServerProcess, accepts_connections, free_port

__all__ = ["TEST_URI_VARIABLE", "NxServer", "external_test_uri", "free_port", "running_server", "server_for_tests",
           "wait_until_ready"]


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


class NxServer(ManagedServer):
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
        # It runs in a temporary folder (ServerProcess.folder), with its pid and log files.
        command = [self.python, "-m", "nx_27017.nx_27017", "--db", self.db_path or "memory", "--host", self.host,
                   "--port", str(self.port), "--pid-file", "server.pid", "--log-file", "server.log"]
        self._process = ServerProcess(command, port=self.port, host=host, name="nx-27017", ready=self._answers_ping,
                                      startup_timeout=startup_timeout)

    @property
    def uri(self) -> str:
        """``mongodb://host:port/`` of this server."""
        return f"mongodb://{self.host}:{self.port}/"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.running

    def start(self) -> str:
        """Start the server and wait until it answers ``ping``; returns :attr:`uri`.

        :raises RuntimeError: nx-27017 exited (e.g. not installed, port taken) or did not
            answer in time (it is stopped then), with its output.
        """
        self._process.start()
        return self.uri

    def _answers_ping(self) -> bool:
        """Whether the server answers ``ping`` now (it accepts connections before it does)."""
        if not accepts_connections(self.host, self.port):
            return False
        try:
            wait_until_ready(self.uri, timeout=0)  # one ping
        except TimeoutError:
            return False
        return True

    def stop(self) -> None:
        """Stop the server (in-memory data is lost; ``db_path`` is kept) and remove its other files."""
        self._process.stop()


@contextlib.contextmanager
def running_server(port: int | None = None, host: str = "127.0.0.1") -> Iterator[str]:
    """Run nx-27017 on ``host:port`` (a free port by default) for the ``with`` block.

    Yields the server's ``mongodb://`` URI. The server keeps its data in memory and is
    stopped when the block ends.
    """
    with NxServer(port=port, host=host) as server:
        yield server.uri


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
