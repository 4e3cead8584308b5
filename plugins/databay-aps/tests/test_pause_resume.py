"""ApsPlanner.pause() and resume(): no transfer starts while paused; missed due times coalesce."""

from __future__ import annotations

import time

from databay import Link
from databay.testing.planner_tester import AsyncProbeInlet, Probe, ProbeInlet, ProbeOutlet
from databay_aps import ApsPlanner

INTERVAL = 0.1


def link(probe: Probe, interval: float = INTERVAL, **options) -> Link:
    inlet_class = AsyncProbeInlet if options.pop("async_inlet", False) else ProbeInlet
    return Link(inlet_class(probe, **options), ProbeOutlet(probe), interval=interval, tags="paused")


def assert_no_transfer_starts(probe: Probe, seconds: float) -> None:
    count = probe.count
    time.sleep(seconds)
    assert probe.count == count, "a transfer started while paused"


def test_pause_stops_transfers_and_resume_catches_up_once(run_planner, wait_until):
    probe = Probe()
    planner = ApsPlanner(link(probe))
    run_planner(planner)
    assert wait_until(lambda: probe.count >= 3)
    planner.pause()
    assert planner.paused and planner.running
    time.sleep(INTERVAL / 2)  # a transfer that started just before pause() is in flight
    paused_at = probe.count
    assert_no_transfer_starts(probe, 5 * INTERVAL)
    resumed = time.monotonic()
    planner.resume()
    assert not planner.paused
    assert wait_until(lambda: probe.count >= paused_at + 4)
    assert probe.starts[paused_at] - resumed < INTERVAL / 2  # at once, not at the next due time
    # The five due times missed while paused coalesced into that one transfer: within an
    # interval of resuming there is at most the next regular one besides it.
    assert sum(t < resumed + INTERVAL for t in probe.starts[paused_at:]) <= 2
    offsets = [(t - probe.starts[0]) / INTERVAL for t in probe.starts[paused_at + 1:]]
    assert all(abs(o - round(o)) < 0.3 for o in offsets), offsets  # back on the ideal times


def test_transfers_in_flight_finish_when_paused(run_planner, wait_until):
    probe = Probe()
    target = link(probe, 60, sleep=3 * INTERVAL)
    planner = ApsPlanner(target)
    run_planner(planner)
    assert wait_until(lambda: probe.active == 1)
    planner.pause()
    assert wait_until(lambda: target.outlets[0].payloads == [0])


def test_pausing_before_start_starts_paused(run_planner, wait_until):
    probe = Probe()
    planner = ApsPlanner(link(probe))
    planner.pause()
    run_planner(planner)
    assert planner.running and planner.paused
    assert_no_transfer_starts(probe, 3 * INTERVAL)  # not even the immediate transfer
    planner.resume()
    assert wait_until(lambda: probe.count >= 2)


def test_shutdown_while_paused(run_planner, wait_until):
    probe = Probe()
    target = link(probe, async_inlet=True)
    planner = ApsPlanner(target)
    thread = run_planner(planner)
    assert wait_until(lambda: probe.count >= 1)
    planner.pause()
    planner.shutdown()
    thread.join(5)
    assert not thread.is_alive() and not planner.running and thread.errors == []
    assert target.outlets[0].shutdowns == 1 and target.inlets[0].shutdowns == 1


def test_pause_is_per_planner(run_planner):
    paused, other = Probe(), Probe()
    first, second = ApsPlanner(link(paused)), ApsPlanner(link(other))
    run_planner(first)
    run_planner(second)
    first.pause()
    time.sleep(INTERVAL / 2)
    count = other.count
    assert_no_transfer_starts(paused, 3 * INTERVAL)
    assert other.count >= count + 2
