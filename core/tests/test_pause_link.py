"""Pausing one link of a running planner (EnginePlanner.pause_link / resume_link)."""

from __future__ import annotations

import datetime
import threading
import time
import zoneinfo

import pytest
from databay import Calendar, Inlet, Link, Outlet
from databay.errors import MissingLinkError
from databay.planners import SchedulePlanner
from databay.run import schedules
from databay.testing import FakeClock


class Counting(Inlet):
    def __init__(self):
        super().__init__()
        self.pulls = 0

    def pull(self, update):
        self.pulls += 1
        return [self.pulls]


class Sink(Outlet):
    def push(self, records, update):
        pass


def test_a_paused_link_stops_transferring_and_resumes_on_its_grid(run_planner, wait_until):
    paused_inlet, other_inlet = Counting(), Counting()
    paused = Link(paused_inlet, Sink(), 0.01, tags="paused")
    other = Link(other_inlet, Sink(), 0.01, tags="other")
    planner = SchedulePlanner([paused, other])
    run_planner(planner)
    assert wait_until(lambda: paused_inlet.pulls >= 3)
    planner.pause_link(paused)
    assert planner.link_paused(paused) and not planner.link_paused(other)
    time.sleep(0.05)  # a transfer in flight when pausing may still end
    frozen, others = paused_inlet.pulls, other_inlet.pulls
    assert wait_until(lambda: other_inlet.pulls >= others + 5)
    assert paused_inlet.pulls == frozen
    assert planner.skipped_transfers(paused) == 0  # passing due times while paused are no skips
    paused.transfer()  # by hand it still transfers, on the planner's loop
    assert paused_inlet.pulls == frozen + 1
    planner.resume_link(paused)
    assert not planner.link_paused(paused)
    assert wait_until(lambda: paused_inlet.pulls >= frozen + 4)


def test_pausing_a_link_the_planner_does_not_have_is_an_error():
    planner = SchedulePlanner()
    with pytest.raises(MissingLinkError):
        planner.pause_link(Link(Counting(), Sink(), 1, tags="stranger"))
    assert not planner.link_paused(Link(Counting(), Sink(), 1, tags="stranger"))


def test_a_paused_calendar_link_lets_its_times_pass_and_resumes_on_its_calendar(monkeypatch, wait_until):
    monkeypatch.setattr(schedules, "WALL_CLOCK_RECHECK", 0.1)  # a jump of the fake clock is seen at once
    zone = zoneinfo.ZoneInfo("Europe/Amsterdam")
    noon = datetime.datetime(2024, 6, 3, 12, 0, tzinfo=zone).timestamp()
    clock = FakeClock(noon - 0.5)
    paused_inlet, other_inlet = Counting(), Counting()
    # one calendar, so both wait in one timer group on the wall clock
    paused = Link(paused_inlet, Sink(), Calendar("every day at 12:00", zone, clock=clock), tags="paused",
                  immediate_transfer=False)
    other = Link(other_inlet, Sink(), Calendar("every day at 12:00", zone, clock=clock), tags="other",
                 immediate_transfer=False)
    planner = SchedulePlanner([paused, other])
    thread = threading.Thread(target=planner.start)
    thread.start()
    try:
        assert wait_until(lambda: planner.running)
        planner.pause_link(paused)
        assert wait_until(lambda: other_inlet.pulls == 1), "the other link transfers at noon"
        time.sleep(0.2)
        assert paused_inlet.pulls == 0, "a paused calendar link transferred"
        tomorrow = datetime.datetime.fromtimestamp(noon + 86400, datetime.UTC)
        assert planner.next_due_at(paused) == tomorrow  # it keeps its place on its calendar
        planner.resume_link(paused)
        clock.set(noon + 86400 - 0.3)
        assert wait_until(lambda: paused_inlet.pulls == 1 and other_inlet.pulls == 2)
    finally:
        planner.shutdown()
        thread.join(10)
    assert not thread.is_alive()
