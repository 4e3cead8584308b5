"""A stateful processor of your own (docs/engine.md, "Stateful processors").

`EveryThird` passes records on three at a time. Because it implements `held()`,
`request_flush()` and `discard()`, the planner delivers what it still holds when it shuts
down, instead of dropping it: run this and the last, incomplete group is printed too.

    python examples/stateful_processor.py
"""

from __future__ import annotations

import threading
import time

from databay import Inlet, Link, Outlet
from databay.planners import SchedulePlanner
from databay.processors import StatefulProcessor


class EveryThird:
    """Passes records on three at a time."""

    def __init__(self):
        self.kept, self.flushing = [], False

    def __call__(self, records):
        self.kept += records
        count = len(self.kept) if self.flushing else len(self.kept) // 3 * 3
        released, self.kept = self.kept[:count], self.kept[count:]
        self.flushing = False
        return released

    def held(self):
        return self.kept

    def request_flush(self):
        self.flushing = True

    def discard(self):
        self.kept = []


class Counter(Inlet):
    def pull(self, update):
        return update.transfer_number


class PrintGroups(Outlet):
    def push(self, records, update):
        print(update, [record.payload for record in records], flush=True)


if __name__ == "__main__":
    assert isinstance(EveryThird(), StatefulProcessor)
    link = Link(Counter(), PrintGroups(processors=EveryThird()), interval=0.1, tags="groups")
    planner = SchedulePlanner(link)
    thread = threading.Thread(target=planner.start)
    thread.start()
    time.sleep(0.75)  # about 8 transfers: two groups of three, and two records held
    planner.shutdown()  # the held records are delivered before on_shutdown
    thread.join()
