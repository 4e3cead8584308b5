"""A throwaway ``redis-server`` for tests and benchmarks: loopback only, a free port, a temp dir.

    with RedisServer() as server:          # needs Debian's redis-server (or one on PATH)
        stage = RedisStage(server.url, "orders")

``RedisServer.available()`` says whether the binary is there, so tests can skip with a
reason naming the package. The process is core's :class:`databay.testing.ServerProcess`
(its folder, its log, and no server outliving the test run).
"""

from __future__ import annotations

import shutil
import socket
from typing import Any

from databay.testing import ServerProcess, free_port

__all__ = ["RedisServer"]

BINARY = "redis-server"


class RedisServer:
    """Runs ``redis-server`` on 127.0.0.1 and a free port, its files in a temporary folder.

    :param appendonly: write an append-only file (``appendfsync always``), so that data
        survives a restart of the server.
    """

    def __init__(self, appendonly: bool = False):
        self.appendonly = appendonly
        self.port = free_port()
        command = [BINARY, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", ".", "--save", "",
                   "--protected-mode", "yes"]
        if appendonly:
            command += ["--appendonly", "yes", "--appendfsync", "always"]
        self.server = ServerProcess(command, port=self.port, ready=self._answers_ping, startup_timeout=10)

    @staticmethod
    def available() -> bool:
        """Whether ``redis-server`` can be started here."""
        return shutil.which(BINARY) is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers_ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                connection.sendall(b"PING\r\n")
                return connection.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> RedisServer:
        """Start the server and wait until it answers ``PING``.

        :raises RuntimeError: it did not start within 10 s (its log is in the message).
        """
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        self.server.stop()

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
