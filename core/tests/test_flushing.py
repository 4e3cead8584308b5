"""Buffers flushed when links stop: flush_buffers, and planners flushing before on_shutdown."""

from __future__ import annotations

from datetime import timedelta

from databay import Link, Outlet
from databay.planners.schedule_planner import SchedulePlanner
from databay.support.buffers import Buffer
from databay.support.flushing import buffers_of, flush_buffers, holds_records
from databay.testing import SequenceInlet


def counting() -> SequenceInlet:
    """An inlet pulling 1, 2, 3...; ``next`` is how many it pulled."""
    return SequenceInlet(per_pull=1, payload=lambda n: n + 1)


class Collecting(Outlet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.payloads: list = []
        self.events: list[str] = []

    def push(self, records, update):
        self.payloads += [r.payload for r in records]
        self.events.append("push")

    def on_shutdown(self):
        self.events.append("shutdown")


def test_flush_buffers_delivers_what_link_and_outlet_buffers_hold():
    inlet = counting()
    held_by_link, held_by_outlet = Buffer(count_threshold=100), Buffer(count_threshold=100)
    outlet, other = Collecting(processors=held_by_outlet), Collecting()
    link = Link(inlet, [outlet, other], timedelta(seconds=1), processors=held_by_link)
    assert buffers_of(link) == [held_by_link, held_by_outlet]
    for _ in range(3):
        link.transfer()
    assert outlet.payloads == [] and holds_records(link)
    outcome = flush_buffers([link])
    assert outlet.payloads == [1, 2, 3] and other.payloads == [1, 2, 3]
    assert inlet.next == 3  # the flush transfer pulled nothing
    assert outcome[link].records_pulled == 0 and not holds_records(link)
    assert flush_buffers([link]) == {}  # nothing held: no transfer


def test_a_link_without_buffers_is_left_alone():
    link = Link(counting(), Collecting(), timedelta(seconds=1))
    assert flush_buffers([link]) == {}


def test_the_schedule_planner_flushes_before_on_shutdown(run_planner, wait_until):
    inlet, outlet = counting(), Collecting(processors=Buffer(count_threshold=1000))
    planner = SchedulePlanner(Link(inlet, outlet, timedelta(seconds=0.02)))
    run_planner(planner)
    assert wait_until(lambda: inlet.next >= 5)
    planner.shutdown()
    assert outlet.events == ["push", "shutdown"]
    assert outlet.payloads == list(range(1, inlet.next + 1))


def test_flushing_at_shutdown_can_be_turned_off(run_planner, wait_until):
    inlet, outlet = counting(), Collecting(processors=Buffer(count_threshold=1000))
    planner = SchedulePlanner(Link(inlet, outlet, timedelta(seconds=0.02)))
    planner.flush_buffers_on_shutdown = False
    run_planner(planner)
    assert wait_until(lambda: inlet.next >= 2)
    planner.shutdown()
    assert outlet.events == ["shutdown"] and outlet.payloads == []
