# The manual's "Processors" example (databay 0.3 docs, 2.2.1) as a runnable script.
# The manual's snippet calls list.push(); a Python list appends.
from datetime import timedelta
from typing import List

from databay import Inlet, Link, Record
from databay.outlets import PrintOutlet
from databay.planners import SchedulePlanner


class NumbersInlet(Inlet):

    def pull(self, update):
        return [99.999, 200, 333.333]


def only_large_numbers(records: List[Record]):
    result = []
    for record in records:
        if record.payload >= 100:
            result.append(record)
    return result


def round_to_integers(records: List[Record]):
    for record in records:
        record.payload = round(record.payload)
    return records


link = Link(NumbersInlet(), PrintOutlet(only_payload=True),
            interval=timedelta(seconds=1), tags='processors',
            processors=[only_large_numbers, round_to_integers])

# Prints "processors.0 200" and "processors.0 333": 99.999 is filtered out before rounding.
planner = SchedulePlanner(link)
planner.start()
