"""Run a test server as a child, and end it when the process that started this one is gone.

:class:`databay.testing.ServerProcess` starts this file with ``python -I -S`` (the standard
library only: it starts fast and imports nothing of databay)::

    python -I -S _supervise.py PARENT_PID STOP_SIGNAL STOP_TIMEOUT UID GID -- COMMAND...

``UID`` and ``GID`` are ``-`` to keep this process's. Signals this process gets are passed on
to the server; when the server exits, this process exits with its status. When the process
``PARENT_PID`` is gone (killed before it could stop its server, e.g. by SIGKILL), the server
gets ``STOP_SIGNAL``, then SIGKILL after ``STOP_TIMEOUT`` seconds: no test server outlives its
test run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)
POLL = 0.2


def main(argv: list[str]) -> int:
    parent, stop_signal, stop_timeout, uid, gid, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit(f"usage: {__doc__}")
    options: dict = {}
    if uid != "-":
        options.update(user=int(uid), group=int(gid), extra_groups=[])
    early: list[int] = []  # signals that came before the server was started

    def forward(received: int, _frame: object) -> None:
        if servers:
            servers[0].send_signal(received)
        else:
            early.append(received)

    servers: list[subprocess.Popen] = []
    for number in FORWARDED:
        signal.signal(number, forward)
    server = subprocess.Popen(command, **options)
    servers.append(server)
    for received in early:
        server.send_signal(received)
    while True:
        try:
            status = server.wait(POLL)
            break
        except subprocess.TimeoutExpired:
            pass
        if os.getppid() != int(parent):
            server.send_signal(int(stop_signal))
            try:
                status = server.wait(float(stop_timeout))
            except subprocess.TimeoutExpired:
                server.kill()
                status = server.wait()
            break
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
