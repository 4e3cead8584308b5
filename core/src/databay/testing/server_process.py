"""A server that tests need, run as a process of its own on a loopback port.

Plugins test against real servers (a database, an object store, an FTP server) started by
their tests. :class:`ServerProcess` does what every such server needs, so that a plugin's
test helper only says how to run its server and how to tell that it serves::

    from databay.testing import ServerProcess, free_port

    port = free_port()
    with ServerProcess(["redis-server", "--port", str(port), "--save", ""], port=port) as server:
        client = redis.Redis(port=server.port)

The server runs in a folder of its own (a new temporary one unless ``cwd`` is given, removed
when it stops), its output goes to a log file (shown when it fails to start), it is ready
once it accepts connections (or once ``ready()`` says so), and :meth:`ServerProcess.stop`
ends it and waits until its port is free, so that :meth:`ServerProcess.start` runs it again
on the same port, e.g. to test an outage. A small
supervisor process (the standard library only) stands between: when the test process dies
without stopping its servers (killed by SIGKILL, a timeout of the CI), the supervisor stops
them, so that no test server outlives its test run.

A plugin's own helper for its server (one that also makes the server's files, or knows its
URL) subclasses :class:`ManagedServer`: it implements ``start`` and ``stop``, and a ``with``
block runs the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Self

from databay.testing._contract import wait_until

__all__ = ["ManagedServer", "ServerProcess", "accepts_connections", "free_port"]

_SUPERVISOR = Path(__file__).with_name("_supervise.py")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now, on ``host``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def accepts_connections(host: str, port: int, timeout: float = 0.2) -> bool:
    """Whether something accepts TCP connections on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        return sock.connect_ex((host, port)) == 0


class ManagedServer(ABC):
    """A server a test starts and stops; a ``with`` block runs it: :meth:`start` on entry,
    :meth:`stop` on exit. Subclasses implement the two."""

    @abstractmethod
    def start(self) -> object:
        """Start the server and wait until it serves."""

    @abstractmethod
    def stop(self) -> None:
        """Stop the server."""

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerProcess(ManagedServer):
    """A server process on ``host:port`` for tests: started, waited for, stopped and restarted.

    :param command: The program and its arguments, telling it to listen on ``host:port``
        (:func:`free_port` gives a port nothing uses).
    :param port: The port it listens on, the same at every :meth:`start`.
    :param host: The loopback address it listens on.
    :param name: What errors call it (default: the program's file name).
    :param ready: Called until it is true once the process runs: whether the server serves
        (default: whether it accepts connections on ``host:port``). Its exceptions propagate.
    :param log_file: The file its output is appended to (default: ``output.log`` in :attr:`folder`).
    :param env: Its environment (default: this process's).
    :param cwd: Its working directory (default: :attr:`folder`).
    :param user: The user id to run it as (this process must be root), e.g. for a server that
        refuses to run as root; ``group`` is then its group id.
    :param group: The group id to run it as, with ``user``.
    :param stop_signal: What :meth:`stop` sends it first (SIGKILL follows after ``stop_timeout``).
    :param startup_timeout: Seconds it may take to be ready.
    :param stop_timeout: Seconds it may take to exit after ``stop_signal``.
    """

    def __init__(self, command: Sequence[str], *, port: int, host: str = "127.0.0.1", name: str | None = None,
                 ready: Callable[[], bool] | None = None, log_file: str | os.PathLike[str] | None = None,
                 env: Mapping[str, str] | None = None, cwd: str | os.PathLike[str] | None = None,
                 user: int | None = None, group: int | None = None, stop_signal: int = signal.SIGTERM,
                 startup_timeout: float = 30.0, stop_timeout: float = 10.0):
        if not command:
            raise ValueError("command is empty: name the server's program")
        if (user is None) != (group is None):
            raise ValueError("user and group go together")
        self.command = [os.fspath(part) for part in command]
        self.port = port
        self.host = host
        self.name = name or Path(self.command[0]).name
        self.ready = ready or (lambda: accepts_connections(self.host, self.port))
        self.log_file = None if log_file is None else Path(log_file)
        self.env = None if env is None else dict(env)
        self.cwd = cwd
        self.user, self.group = user, group
        self.stop_signal = stop_signal
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    @property
    def folder(self) -> Path | None:
        """The temporary folder of the running server, for its files and log: made by
        :meth:`start` unless ``cwd`` and ``log_file`` are both given, removed with what it
        holds by :meth:`stop` (``None`` while there is none)."""
        return self._folder

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> ServerProcess:
        """Start the server (unless it runs) and wait until it is ready.

        :raises RuntimeError: it exited, or was not ready in time (it is stopped then); the
            message ends with the last of its output.
        """
        if self.running:
            return self
        if self._folder is None and (self.cwd is None or self.log_file is None):
            self._folder = Path(tempfile.mkdtemp(prefix=f"databay-{self.name}-"))
        identity = ["-", "-"] if self.user is None else [str(self.user), str(self.group)]
        supervisor = [sys.executable, "-I", "-S", str(_SUPERVISOR), str(os.getpid()), str(int(self.stop_signal)),
                      str(self.stop_timeout), *identity, "--", *self.command]
        with open(self._log_path(), "ab") as log:  # a file, not a pipe: nothing blocks when nobody reads
            self._process = subprocess.Popen(supervisor, stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=self.env, cwd=self.cwd or self._folder,
                                             start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while not self.ready():
            if self._process.poll() is not None or time.monotonic() > deadline:
                output = self.output()
                self.stop()
                raise RuntimeError(f"{self.name} did not start on {self.address}: {output[-2000:]}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop the server, wait until its port is free and remove :attr:`folder`: :meth:`start`
        can run it again."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(self.stop_signal)
            try:
                process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the supervisor, the server and its children
                process.wait(10)
        wait_until(lambda: not accepts_connections(self.host, self.port), 10, every=0.02)
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def output(self) -> str:
        """What the server has written to its log so far."""
        try:
            return self._log_path().read_text(errors="replace")
        except (OSError, ValueError):
            return ""

    def _log_path(self) -> Path:
        if self.log_file is not None:
            return self.log_file
        if self._folder is None:
            raise ValueError("the server has no log while it is stopped")
        return self._folder / "output.log"

    def __repr__(self) -> str:
        return f"<ServerProcess {self.name} on {self.address}{' (running)' if self.running else ''}>"
