# The manual's "Buffers" example (databay 0.3 docs, 2.2.3) as a runnable script.
# The inlet produces 4, 4 and 3 records; Buffer(count_threshold=10) stores the first
# two pulls and releases all 11 records on the third transfer. On shutdown the buffer
# is flushed with a final transfer, as the manual's "Ensure records are consumed" shows.
from datetime import timedelta

from databay import Inlet, Link, Outlet
from databay.planners import SchedulePlanner
from databay.support.buffers import Buffer


class CountingInlet(Inlet):

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sizes = iter([4, 4, 3])
        self.produced = 0

    def pull(self, update):
        size = next(self.sizes, 1)
        records = list(range(self.produced, self.produced + size))
        self.produced += size
        return records


class CountPrintOutlet(Outlet):

    def push(self, records, update):
        print(update, f'received {len(records)} records')


inlet = CountingInlet()
buffer = Buffer(count_threshold=10)
link = Link(inlet, CountPrintOutlet(), interval=timedelta(seconds=0.5),
            tags='buffers', processors=buffer)

try:
    planner = SchedulePlanner(link)
    planner.start()
finally:
    buffer.flush = True  # ensure the buffer releases what it still holds
    link.remove_inlets(link.inlets)  # no more data needed
    planner.force_transfer()  # one final transfer to flush the buffer
