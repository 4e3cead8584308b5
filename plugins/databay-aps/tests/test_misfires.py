"""What happens when a transfer is late or still running at its link's next due time.

databay's rules (shared with SchedulePlanner, checked by PlannerTester): a link's transfers
never overlap; a due time that finds the previous transfer still running is skipped; due
times missed while the planner was held up are coalesced into one late transfer; then the
link returns to its ideal times. These tests check how APScheduler reports them, and that
job_defaults_override changes them the way APScheduler documents.
"""

from __future__ import annotations

import logging

from databay import Link
from databay.testing.planner_tester import AsyncProbeInlet, Probe, ProbeInlet, ProbeOutlet
from databay_aps import ApsPlanner

INTERVAL = 0.1


def offsets(probe: Probe) -> list[float]:
    return [round((t - probe.starts[0]) / INTERVAL, 2) for t in probe.starts]


def held_up_planner(probe: Probe, **options) -> ApsPlanner:
    """A planner whose loop is held up from 1.5 to 4.5 intervals by another link's async
    pull, so that ``probe``'s link (due at 0, 1, 2, ...) misses its due times 2, 3 and 4."""
    blocker = AsyncProbeInlet(Probe(), hold_loop=True, sleep={0: 3 * INTERVAL})
    return ApsPlanner([Link(blocker, ProbeOutlet(Probe()), interval=1.5 * INTERVAL, tags="blocker",
                            immediate_transfer=False),
                       Link(AsyncProbeInlet(probe), ProbeOutlet(probe), interval=INTERVAL, tags="late")],
                      **options)


def test_a_due_time_that_finds_the_transfer_running_is_skipped_and_logged(run_planner, wait_until, caplog):
    probe = Probe()
    planner = ApsPlanner(Link(ProbeInlet(probe, sleep=2.5 * INTERVAL), ProbeOutlet(probe), interval=INTERVAL))
    with caplog.at_level(logging.WARNING, logger="apscheduler"):
        run_planner(planner)
        assert wait_until(lambda: probe.count >= 3)
    assert probe.max_active == 1
    assert [o % 1 < 0.2 or o % 1 > 0.8 for o in offsets(probe)[:3]] == [True] * 3, offsets(probe)
    skipped = [r for r in caplog.records if "maximum number of running instances reached" in r.getMessage()]
    assert skipped and skipped[0].levelname == "WARNING"


def test_max_instances_above_one_still_never_overlaps(run_planner, wait_until):
    probe = Probe()
    target = Link(ProbeInlet(probe, sleep=2.5 * INTERVAL), ProbeOutlet(probe), interval=INTERVAL)
    planner = ApsPlanner(target, job_defaults_override={"max_instances": 5})
    run_planner(planner)
    assert wait_until(lambda: probe.count >= 3)
    assert probe.max_active == 1
    assert planner._engine.skipped_transfers(target) >= 2  # the engine skipped what APScheduler let through


def test_missed_due_times_are_coalesced_into_one_late_transfer(run_planner, wait_until):
    probe = Probe()
    run_planner(held_up_planner(probe))
    assert wait_until(lambda: probe.count >= 5)
    late = offsets(probe)[2:4]
    assert 4.4 <= late[0] < 4.8 and 4.85 < late[1] < 5.2, offsets(probe)  # 4.5 (late, once), then 5


def test_misfire_grace_time_override_drops_transfers_later_than_it(run_planner, wait_until, caplog):
    # APScheduler counts the grace time in whole seconds: the link's interval is 1.5 s, and
    # another link holds the loop from 0.2 s to 2.8 s, so the transfer due at 1.5 s is 1.3 s late.
    probe = Probe()
    blocker = AsyncProbeInlet(Probe(), hold_loop=True, sleep={0: 2.6})
    planner = ApsPlanner([Link(blocker, ProbeOutlet(Probe()), interval=0.2, immediate_transfer=False),
                          Link(AsyncProbeInlet(probe), ProbeOutlet(probe), interval=1.5)],
                         job_defaults_override={"misfire_grace_time": 1})
    with caplog.at_level(logging.WARNING, logger="apscheduler"):
        run_planner(planner)
        assert wait_until(lambda: probe.count >= 2)
    seconds = [round(t - probe.starts[0], 2) for t in probe.starts]
    assert 2.95 < seconds[1] < 3.2, seconds  # nothing at 2.8: 1.3 s late, dropped; next due at 3.0
    assert any("was missed by" in r.getMessage() for r in caplog.records)


def test_coalesce_override_runs_every_missed_due_time_one_after_the_other(run_planner, wait_until):
    probe = Probe()
    run_planner(held_up_planner(probe, job_defaults_override={"coalesce": False}))
    assert wait_until(lambda: probe.count >= 5)
    assert probe.max_active == 1
    burst = [o for o in offsets(probe) if 4.4 <= o < 4.8]
    assert len(burst) == 3, offsets(probe)  # due times 2, 3 and 4 run back to back at 4.5
