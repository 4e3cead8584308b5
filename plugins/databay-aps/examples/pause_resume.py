"""Pause and resume an ApsPlanner from another thread (run: python examples/pause_resume.py).

A link transfers every 0.2 s; the main thread pauses the planner for a second, resumes
it, and shuts it down. While paused nothing transfers; on resume the five due times
missed meanwhile are coalesced into one transfer, then the link is back on its times.
"""

import threading
import time

from databay import Inlet, Link, Outlet
from databay.planners import ApsPlanner

started = time.monotonic()


def log(message: str) -> None:
    print(f"{time.monotonic() - started:4.1f}s {message}", flush=True)


class Clock(Inlet):
    def pull(self, update):
        return time.monotonic() - started


class Printer(Outlet):
    def push(self, records, update):
        log(f"transfer {update}")


planner = ApsPlanner(Link(Clock(), Printer(), interval=0.2, tags="clock"))
thread = threading.Thread(target=planner.start)
thread.start()

time.sleep(0.5)
planner.pause()
log("paused")
time.sleep(1.0)
log("resumed")
planner.resume()
time.sleep(0.5)
planner.shutdown()
thread.join()
log("shut down")
