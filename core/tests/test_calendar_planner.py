"""SchedulePlanner runs calendar links at the right instants, under a fake wall clock.

The clock (databay.testing.FakeClock) starts just before the instants that matter and runs
at real speed; its jumps stand for a clock set by hand or a machine waking from sleep (the
wall clock moves, the loop's monotonic clock does not). The engine reads the wall clock
again every WALL_CLOCK_RECHECK seconds, shortened here so that nothing waits long.
"""

from __future__ import annotations

import datetime
import threading
import time
import zoneinfo

import pytest
from databay import Calendar, Link
from databay.planners import SchedulePlanner
from databay.run import schedules
from databay.testing import FakeClock
from databay.testing.planner_tester import Probe, ProbeInlet, ProbeOutlet

AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
NYC = zoneinfo.ZoneInfo("America/New_York")
LATE = 0.5  # how late a transfer may start on a busy machine (seconds)


@pytest.fixture(autouse=True)
def quick_recheck(monkeypatch):
    monkeypatch.setattr(schedules, "WALL_CLOCK_RECHECK", 0.1)


class Stamps(ProbeInlet):
    """Notes the fake clock's reading at each pull."""

    def __init__(self, probe, clock, name="inlet"):
        super().__init__(probe, name)
        self.clock, self.times = clock, []

    def pull(self, update):
        self.times.append(self.clock())
        return super().pull(update)


def calendar_link(clock, text, tz=AMS, name="link", immediate=False):
    probe = Probe()
    inlet = Stamps(probe, clock, f"{name}.inlet")
    link = Link(inlet, ProbeOutlet(probe), Calendar(text, tz, clock=clock), tags=name, immediate_transfer=immediate)
    return link, inlet


def running(planner):
    thread = threading.Thread(target=planner.start)
    thread.start()
    deadline = time.monotonic() + 5
    while not planner.running and time.monotonic() < deadline:
        time.sleep(0.01)
    return thread


def stop(planner, thread):
    planner.shutdown()
    thread.join(10)
    assert not thread.is_alive()


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def instant(tz, *fields, fold=0):
    return datetime.datetime(*fields, tzinfo=tz, fold=fold).timestamp()


@pytest.mark.parametrize(("tz", "forward"), [(AMS, (2024, 3, 31, 3, 0)), (NYC, (2024, 3, 10, 3, 0))])
def test_a_daily_time_in_the_skipped_hour_runs_once_right_after_it(tz, forward):
    gap_end = instant(tz, *forward)
    clock = FakeClock(gap_end - 0.6)
    daily, inlet = calendar_link(clock, "every day at 02:30", tz)
    planner = SchedulePlanner(daily)
    thread = running(planner)
    try:
        assert wait_until(lambda: inlet.times)
        time.sleep(0.8)
        assert planner.next_due_at(daily) == datetime.datetime.fromtimestamp(gap_end + 86400 - 1800, datetime.UTC)
    finally:
        stop(planner, thread)
    assert len(inlet.times) == 1
    assert 0 <= inlet.times[0] - gap_end <= LATE


@pytest.mark.parametrize(("tz", "day"), [(AMS, (2024, 10, 27)), (NYC, (2024, 11, 3))])
def test_when_clocks_go_back_a_daily_time_runs_once_and_a_repetition_in_both_passes(tz, day):
    hour = 2 if tz is AMS else 1  # the hour that comes twice
    first = instant(tz, *day, hour, 30)
    second = instant(tz, *day, hour, 30, fold=1)
    assert second - first == 3600
    clock = FakeClock(first - 0.5)
    daily, daily_inlet = calendar_link(clock, f"every day at {hour:02d}:30", tz, "daily")
    halves, halves_inlet = calendar_link(clock, "every 30 minutes", tz, "halves")
    planner = SchedulePlanner([daily, halves])
    thread = running(planner)
    try:
        assert wait_until(lambda: daily_inlet.times and halves_inlet.times)
        clock.advance(3599)  # just before the second pass's hour:30; like a machine that slept
        assert wait_until(lambda: len(halves_inlet.times) >= 3)  # the missed hour+1:00 coalesced, then hour:30
        time.sleep(0.3)
    finally:
        stop(planner, thread)
    assert len(daily_inlet.times) == 1, "the repeated daily time ran twice"
    assert 0 <= daily_inlet.times[0] - first <= LATE
    assert 0 <= halves_inlet.times[-1] - second <= LATE, "the repetition skipped the second pass"


def test_a_machine_that_slept_runs_the_missed_time_once_on_waking():
    clock = FakeClock(instant(AMS, 2024, 6, 3, 23, 0))
    nightly, inlet = calendar_link(clock, "every weekday at 00:00")
    planner = SchedulePlanner(nightly)
    thread = running(planner)
    try:
        time.sleep(0.2)
        assert inlet.times == []
        clock.advance(3 * 86400)  # slept through three midnights: the loop's clock saw nothing of it
        assert wait_until(lambda: inlet.times, timeout=2)
        time.sleep(0.3)
    finally:
        stop(planner, thread)
    assert len(inlet.times) == 1, "the missed times were not coalesced"
    assert planner.next_due_at(nightly) is None  # stopped


def test_a_clock_set_back_runs_no_time_twice():
    clock = FakeClock(instant(AMS, 2024, 6, 3, 12, 0) - 0.3)
    noon, inlet = calendar_link(clock, "every day at 12:00")
    planner = SchedulePlanner(noon)
    thread = running(planner)
    try:
        assert wait_until(lambda: inlet.times)
        clock.advance(-60)  # the clock is corrected back a minute: 12:00 comes again
        time.sleep(1.0)
        assert planner.next_due_at(noon) == datetime.datetime.fromtimestamp(
            instant(AMS, 2024, 6, 4, 12, 0), datetime.UTC)
    finally:
        stop(planner, thread)
    assert len(inlet.times) == 1


def test_immediate_transfer_and_links_added_while_running():
    clock = FakeClock(instant(AMS, 2024, 6, 3, 11, 59, 59) + 0.4)
    now, now_inlet = calendar_link(clock, "every day at 12:00", name="now", immediate=True)
    planner = SchedulePlanner(now)
    thread = running(planner)
    try:
        assert wait_until(lambda: now_inlet.times)
        added, added_inlet = calendar_link(clock, "every day at 12:00", name="added", immediate=True)
        planner.add_links(added)  # added while running: first due at its next time, not at once
        assert wait_until(lambda: len(now_inlet.times) == 2 and added_inlet.times)
    finally:
        stop(planner, thread)
    noon = instant(AMS, 2024, 6, 3, 12, 0)
    assert now_inlet.times[0] < noon <= now_inlet.times[1] <= noon + LATE
    assert noon <= added_inlet.times[0] <= noon + LATE


def test_links_on_one_calendar_fall_due_together():
    clock = FakeClock(instant(AMS, 2024, 6, 3, 11, 59, 59) + 0.5)
    links = [calendar_link(clock, "every day at 12:00", name=f"l{index}")[0] for index in range(50)]
    links += [Link(ProbeInlet(Probe()), ProbeOutlet(Probe()), Calendar("every day at 12:00", AMS, clock=clock),
                   tags="other", immediate_transfer=False)]
    planner = SchedulePlanner(links)
    thread = running(planner)
    try:
        assert wait_until(lambda: all(link.inlets[0].probe.count for link in links))
        # One timer for all of them: the same calendar (equal ones) on one clock.
        assert len(planner._engine._wall_timers) == 1
        dues = {planner.next_due_at(link) for link in links}
    finally:
        stop(planner, thread)
    assert len(dues) == 1


def test_a_planner_refuses_what_it_cannot_run():
    class Elsewhere:
        """A schedule only another planner knows (as databay-aps's Cron)."""

        def first_due(self, now, immediate):
            return now

        def next_due(self, due, now):
            return now + 1

    link = Link(ProbeInlet(Probe()), ProbeOutlet(Probe()), Elsewhere())
    with pytest.raises(ValueError, match="runs links on an interval or a databay.Calendar.*ApsPlanner of databay-aps"):
        SchedulePlanner(link)


@pytest.mark.parametrize("jump", [3600.0, -3600.0], ids=["clocks forward", "clocks back"])
def test_an_interval_link_keeps_its_grid_while_the_wall_clock_jumps(jump):
    """Intervals run on the monotonic clock: a calendar link beside one sees its wall clock
    jump an hour (as at a DST change, or a clock set by hand), the interval link neither
    bursts nor pauses."""
    clock = FakeClock(instant(AMS, 2024, 3, 31, 1, 59, 59))
    calendar, _ = calendar_link(clock, "every second", name="calendar")
    probe = Probe()
    interval = Link(ProbeInlet(probe, "interval.inlet"), ProbeOutlet(probe), 0.1, tags="interval")
    planner = SchedulePlanner([calendar, interval])
    thread = running(planner)
    try:
        assert wait_until(lambda: probe.count >= 5)
        clock.advance(jump)
        jumped = probe.count
        assert wait_until(lambda: probe.count >= jumped + 10)
    finally:
        stop(planner, thread)
    starts = probe.starts[:jumped + 10]
    # On the grid: the n-th transfer after the first at first + n * 0.1 (an extra transfer in a
    # burst, or a pause, would put every later one off its place).
    assert all(abs(start - (starts[0] + n * 0.1)) < LATE for n, start in enumerate(starts)), starts
