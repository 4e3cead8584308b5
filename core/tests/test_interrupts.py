"""Ctrl-C and SIGTERM for a planner or pipeline run in the main thread (databay.run.interrupts),
in processes of their own."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

NODES = """
import os, random, signal, sys, threading, time
from databay import Inlet, Link, Outlet
from databay.planners import SchedulePlanner

signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, even if started ignoring it


class InterruptSoon(Inlet):
    "Has a thread of its own send SIGNAL within 2 ms of its pull (the pull is over by then, or not)."

    SIGNAL = signal.SIGINT

    def pull(self, update):
        threading.Timer(random.random() * 0.002, os.kill, (os.getpid(), self.SIGNAL)).start()
        return 1


class TerminateSoon(InterruptSoon):
    SIGNAL = signal.SIGTERM


class Slow(Inlet):
    def pull(self, update):
        print("pulled", flush=True)
        time.sleep(1.5)
        return 1


class Out(Outlet):
    shutdowns = 0

    def push(self, records, update):
        pass

    def on_shutdown(self):
        Out.shutdowns += 1
"""


def run_script(body: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", NODES + body], capture_output=True, text=True, timeout=timeout)


def test_ctrl_c_at_any_moment_of_a_transfer_shuts_down_gracefully():
    # Each of 500 planners gets its Ctrl-C at another moment around its first transfer's
    # end. A signal that a worker thread took used to leave the loop asleep until the next
    # due time (a minute away): the process hung in about one run of three.
    result = run_script("""
interrupted = 0
for _ in range(500):
    try:
        SchedulePlanner(Link(InterruptSoon(), Out(), 60)).start()
    except KeyboardInterrupt:
        interrupted += 1
print(interrupted, Out.shutdowns, signal.getsignal(signal.SIGINT) is signal.default_int_handler)
""")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["500", "500", "True"], "every start() raised KeyboardInterrupt after " \
                                                            "on_shutdown, and Python's handler is back"


def test_a_second_ctrl_c_forces_the_stop():
    process = subprocess.Popen([sys.executable, "-c", NODES + """
try:
    SchedulePlanner(Link(Slow(), Out(), 60)).start()
except KeyboardInterrupt:
    print("KeyboardInterrupt raised", Out.shutdowns, flush=True)
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline() == "pulled\n"
        process.send_signal(signal.SIGINT)
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert out == "KeyboardInterrupt raised 0\n", err  # forced: on_shutdown did not run
    assert err.count("Interrupted: shutting down (interrupt again to force)") == 1


def test_an_application_s_own_handler_is_called_and_put_back():
    result = run_script("""
planner = SchedulePlanner(Link(InterruptSoon(), Out(), 60))
calls = []


def handler(signum, frame):
    calls.append(signum)
    planner.shutdown(wait=False)


signal.signal(signal.SIGINT, handler)
planner.start()
print(calls == [signal.SIGINT], Out.shutdowns, signal.getsignal(signal.SIGINT) is handler)
""")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["True", "1", "True"]
    assert "Interrupted" not in result.stderr


@pytest.mark.parametrize("inlet", ["InterruptSoon", "TerminateSoon"])
def test_a_pipeline_run_stops_at_every_sigint_and_sigterm(inlet):
    # load_pipeline(...).run() routes both signals to its graceful stop (as databay run does):
    # each of 200 runs gets its signal at another moment around its first transfer's end.
    result = run_script(f"""
import logging
from databay import load_pipeline

logging.getLogger("databay").setLevel(logging.ERROR)
text = '[[links]]\\ninterval = 60\\ninlets = ["__main__:{inlet}"]\\noutlets = ["__main__:Out"]\\n'
for _ in range(200):
    try:
        load_pipeline(text).run()
    except KeyboardInterrupt:
        pass
print(Out.shutdowns, signal.getsignal(signal.SIGINT) is signal.default_int_handler,
      signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
""")
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split() == ["200", "True", "True"]
