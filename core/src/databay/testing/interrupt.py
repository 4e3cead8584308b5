"""Ctrl-C for a planner under test: :func:`interrupt_at_first_pull`.

A signal reaches only the main thread of a process, so a planner whose ``start()`` must
shut down gracefully on Ctrl-C is started in the main thread of a new Python process.
Its nodes, :class:`PullAnnouncer` and :class:`ShutdownAnnouncer`, tell that process's
parent what happened by printing it.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

from databay.inlet import Inlet
from databay.outlet import Outlet
from databay.record import Record
from databay.update import Update

__all__ = ["PullAnnouncer", "ShutdownAnnouncer", "interrupt_at_first_pull"]


class PullAnnouncer(Inlet):
    """Prints ``pulled`` (on stdout, at once) at each pull; its one record is ``1``."""

    def pull(self, update: Update) -> int:
        print("pulled", flush=True)
        return 1


class ShutdownAnnouncer(Outlet):
    """Drops what it is given; prints ``on_shutdown ran`` (on stdout, at once) as it shuts down."""

    def push(self, records: list[Record], update: Update) -> None:
        pass

    def on_shutdown(self) -> None:
        print("on_shutdown ran", flush=True)


_SCRIPT = """
import importlib, signal, sys
from databay import Link
from databay.testing.interrupt import PullAnnouncer, ShutdownAnnouncer

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if started ignoring it

module, _, name = sys.argv[1].partition(":")
planner_class = getattr(importlib.import_module(module), name)
try:
    planner_class(Link(PullAnnouncer(), ShutdownAnnouncer(), 60)).start()
except KeyboardInterrupt:
    print("KeyboardInterrupt raised", flush=True)
"""


def interrupt_at_first_pull(planner: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Press Ctrl-C (``SIGINT``) while a planner runs its first transfer, in a new process.

    The process builds ``planner`` (``"module:Class"``, called with one link every 60 s
    from a :class:`PullAnnouncer` to a :class:`ShutdownAnnouncer`) and calls its
    ``start()``, printing ``KeyboardInterrupt raised`` if ``start()`` raises it. The signal
    comes once ``pulled`` was printed.

    The process takes Ctrl-C as it would in a terminal, even where the test runs with SIGINT
    ignored (a shell's background job, some CI runners).

    A planner that shuts down gracefully lets the process print all three, and exit with 0::

        result = interrupt_at_first_pull("databay_kafka:KafkaPlanner")
        assert result.stdout == "pulled\\non_shutdown ran\\nKeyboardInterrupt raised\\n", result.stderr
        assert result.returncode == 0

    :param planner: The planner class, as ``"module:Class"``.
    :param timeout: Seconds the process may take to pull and then to end (it is killed then).
    :returns: The process's exit code and what it printed (``stdout``, ``stderr``).
    """
    process = subprocess.Popen([sys.executable, "-c", _SCRIPT, planner], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    no_pull = threading.Timer(timeout, process.kill)  # the first pull must come in time too
    no_pull.start()
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        no_pull.cancel()
        if first == "pulled\n":
            process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=timeout)
    finally:
        no_pull.cancel()
        if process.poll() is None:
            process.kill()
            process.communicate()
    return subprocess.CompletedProcess(process.args, process.returncode, first + out, err)
