"""Links on a calendar, in Python: the same Link, with a Calendar where the interval was.

    python examples/calendar_link.py

Prints a calendar's next times (across the night clocks go back in Amsterdam), then runs a
link due on every whole second of the clock for three seconds.
"""

import datetime
import threading

from databay import Calendar, Link
from databay.inlets import RandomIntInlet
from databay.outlet import Outlet
from databay.planners import SchedulePlanner

nightly = Calendar("every weekday at 00:00", timezone="Europe/Amsterdam")
friday_noon = datetime.datetime(2024, 10, 25, 12, 0, tzinfo=datetime.UTC)
for due in nightly.due_times(friday_noon, 3):
    print("nightly due", due.isoformat())  # Monday 28 October in winter time: +01:00


class ClockOutlet(Outlet):
    """Prints when each record arrived, to the millisecond."""

    def push(self, records, update):
        arrived = datetime.datetime.now().strftime("%S.%f")[:6]
        for record in records:
            print(f"{update} rolled {record.payload} at second {arrived}")


link = Link(RandomIntInlet(1, 6), ClockOutlet(), Calendar("every second"), tags="tick",
            immediate_transfer=False)   # not at once: first at the next whole second
planner = SchedulePlanner(link)
threading.Timer(3.3, planner.shutdown).start()
planner.start()
