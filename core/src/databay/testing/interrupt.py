"""Ctrl-C for a planner under test: :func:`interrupt_at_first_pull`.

A signal reaches only the main thread of a process, so a planner whose ``start()`` must
shut down gracefully on Ctrl-C is started in the main thread of a new Python process.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading

__all__ = ["interrupt_at_first_pull"]

_SCRIPT = """
import importlib, sys
from databay import Inlet, Link, Outlet

module, _, name = sys.argv[1].partition(":")
planner_class = getattr(importlib.import_module(module), name)


class Announced(Inlet):
    def pull(self, update):
        print("pulled", flush=True)
        return 1


class ShutdownAnnounced(Outlet):
    def push(self, records, update):
        pass

    def on_shutdown(self):
        print("on_shutdown ran", flush=True)


try:
    planner_class(Link(Announced(), ShutdownAnnounced(), 60)).start()
except KeyboardInterrupt:
    print("KeyboardInterrupt raised", flush=True)
"""

def interrupt_at_first_pull(planner: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Press Ctrl-C (``SIGINT``) while a planner runs its first transfer, in a new process.

    The process builds ``planner`` (``"module:Class"``, called with one link: a 60 s
    interval, an inlet printing ``pulled`` at each pull, an outlet printing ``on_shutdown
    ran`` when it shuts down) and calls its ``start()``, printing ``KeyboardInterrupt
    raised`` if ``start()`` raises it. The signal comes once ``pulled`` was printed.

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
