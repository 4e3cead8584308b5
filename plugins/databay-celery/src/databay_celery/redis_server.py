"""A throwaway ``redis-server`` for tests and benchmarks: loopback only, a free port, a temp dir.

    with RedisServer() as server:          # needs Debian's redis-server (or one on PATH)
        stage = RedisStage(server.url, "orders")

``RedisServer.available()`` says whether the binary is there, so tests can skip with a
reason naming the package.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

__all__ = ["RedisServer"]

BINARY = "redis-server"


class RedisServer:
    """Runs ``redis-server`` on 127.0.0.1 and a free port, its files in a temporary folder.

    :param appendonly: write an append-only file (``appendfsync always``), so that data
        survives a restart of the server.
    """

    def __init__(self, appendonly: bool = False):
        self.appendonly = appendonly
        self.port = 0
        self.process: subprocess.Popen | None = None
        self._folder: tempfile.TemporaryDirectory | None = None

    @staticmethod
    def available() -> bool:
        """Whether ``redis-server`` can be started here."""
        return shutil.which(BINARY) is not None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        """Start the server and wait until it answers.

        :raises RuntimeError: it did not start within 10 s (its log is in the message).
        """
        self._folder = tempfile.TemporaryDirectory(prefix="databay-redis-")
        folder = Path(self._folder.name)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        arguments = [BINARY, "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(folder),
                     "--save", "", "--logfile", str(folder / "redis.log"), "--protected-mode", "yes"]
        if self.appendonly:
            arguments += ["--appendonly", "yes", "--appendfsync", "always"]
        self.process = subprocess.Popen(arguments, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                time.sleep(0.05)
        log = (folder / "redis.log").read_text(errors="replace") if (folder / "redis.log").exists() else ""
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}: {log[-2000:]}")

    def stop(self) -> None:
        """Stop the server and delete its folder."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        if self._folder is not None:
            self._folder.cleanup()
            self._folder = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
