"""Quickstart: move random integers into a file and to the screen, three times, offline.

    python examples/quickstart.py
"""

import threading
from datetime import timedelta

from databay import Link
from databay.inlets import RandomIntInlet
from databay.outlets import FileOutlet, PrintOutlet
from databay.planners import SchedulePlanner

inlet = RandomIntInlet(min=0, max=100, metadata={FileOutlet.FILEPATH: "out/quickstart.txt"})
link = Link(inlet, [FileOutlet(), PrintOutlet(only_payload=True)],
            interval=timedelta(seconds=0.5), tags="quickstart")
planner = SchedulePlanner(link)

# Three transfers (one immediately, then every 0.5 s), then a graceful shutdown.
threading.Timer(1.25, planner.shutdown).start()
planner.start()
print("wrote out/quickstart.txt")
