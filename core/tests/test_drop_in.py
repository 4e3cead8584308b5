"""What databay 0.3 code sees: planners drive links through their public methods, start and
shutdown races, and the smaller differences of issue 17 (items 1-7), through the public API."""

from __future__ import annotations

import datetime
import logging
import statistics
import subprocess
import sys
import textwrap
import threading
from unittest.mock import MagicMock

import pytest
from databay import Inlet, Link, Outlet, Record
from databay.planners import SchedulePlanner
from databay.support.buffers import Buffer


class Numbers(Inlet):
    def pull(self, update):
        return [update.transfer_number]


class Collect(Outlet):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.payloads = []
        self.threads = []

    def push(self, records, update):
        self.payloads.extend(r.payload for r in records)
        self.threads.append(threading.current_thread().name)


# -- 1. planners drive links through their public methods ----------------------------


# A Link subclass overriding its methods, and shutdown() while starting: rules of the
# conformance kit (PlannerTester), checked for SchedulePlanner in test_schedule_planner_contract.py.


def test_a_test_double_built_from_the_public_api_is_driven(run_planner, wait_until):
    link = MagicMock(spec=Link)
    link.interval = datetime.timedelta(seconds=0.02)
    link.job = None
    link.set_job.side_effect = lambda job: setattr(link, "job", job)
    planner = SchedulePlanner(link)
    assert link.job is not None
    run_planner(planner)
    assert wait_until(lambda: link.transfer.call_count >= 3)
    link.on_start.assert_called_once_with()
    planner.shutdown()
    link.on_shutdown.assert_called_once_with()
    planner.remove_links(link)
    assert link.job is None


def test_an_exception_of_an_overriding_transfer_stops_the_planner(run_planner, wait_until):
    class Failing(Link):
        def transfer(self):
            raise RuntimeError("overridden transfer failed")

    planner = SchedulePlanner(Failing(Numbers(), Collect(), 0.02))
    thread = run_planner(planner, wait_running=False)
    thread.join(10)
    assert not thread.is_alive() and not planner.running


def test_plain_links_keep_the_fast_path(run_planner, wait_until, monkeypatch):
    calls = []
    monkeypatch.setattr(Link, "transfer", lambda self: calls.append(self))
    outlet = Collect()
    plain = Link(Numbers(), outlet, 0.02)
    planner = SchedulePlanner(plain)
    run_planner(planner)
    assert wait_until(lambda: len(outlet.payloads) >= 3)
    assert calls == []  # the plain link's transfers never went through a Python-level override


# -- 2. shutdown tolerates links and outlets without processors ------------------------


def test_shutdown_tolerates_links_and_outlets_without_processors(run_planner):
    class Bare(Outlet):
        def __init__(self):  # no super().__init__(): no processors attribute, as 0.3 allowed
            self.received = []

        def push(self, records, update):
            self.received.extend(records)

    double = MagicMock(spec=Link)
    double.interval = datetime.timedelta(seconds=60)
    del double.processors
    bare = Bare()
    link = Link(Numbers(), bare, 60)
    planner = SchedulePlanner([link, double])
    run_planner(planner)
    planner.shutdown()
    double.on_shutdown.assert_called_once_with()
    assert not planner.running
    # Without a running planner, shutdown flushes and shuts down from the calling thread.
    SchedulePlanner([link, double]).shutdown()


# -- 3. start and shutdown races -------------------------------------------------------


def test_running_is_true_from_the_moment_start_is_entered():
    seen = []
    planner = SchedulePlanner(immediate_transfer=False)

    class Watch(Inlet):
        def on_start(self):  # called by start(), before the loop runs any transfer
            seen.append(planner.running)

        def pull(self, update):
            return []

    planner.add_links(Link(Watch(), Collect(), 60))
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    while not seen and thread.is_alive():
        pass
    planner.shutdown()
    thread.join(10)
    assert seen == [True]


# -- 4. a link's interval ------------------------------------------------------------


@pytest.mark.parametrize("interval", [0, -1, datetime.timedelta(0)])
def test_planners_refuse_links_that_cannot_be_scheduled(interval):
    link = Link(Numbers(), Collect(), interval)
    assert link.transfer().records_pushed == 1  # by hand it transfers
    with pytest.raises(ValueError, match="a planner schedules only links with a positive interval"):
        SchedulePlanner(link)
    planner = SchedulePlanner()
    with pytest.raises(ValueError, match="cannot schedule"):
        planner.add_links(link)
    assert planner.links == []


# -- 5. the first standalone transfer ------------------------------------------------

FIRST_TRANSFER = textwrap.dedent("""
    import json, time
    from databay import Inlet, Link, Outlet

    class One(Inlet):
        def pull(self, update):
            return [{"n": update.transfer_number}]

    class Keep(Outlet):
        def push(self, records, update):
            pass

    link = Link(One(), Keep(), 1)
    times = []
    for _ in range(9):
        started = time.perf_counter()
        link.transfer()
        times.append(time.perf_counter() - started)
    print(json.dumps(times))
""")


def test_the_first_standalone_transfer_costs_about_what_the_next_ones_do():
    # Loading the plugins (for their observers) and making the thread's loop happen when
    # the link is made: the first transfer no longer pays milliseconds for them.
    extra = []
    for _ in range(3):
        out = subprocess.run([sys.executable, "-c", FIRST_TRANSFER], capture_output=True, text=True, check=True,
                             timeout=60)
        times = [float(t) for t in out.stdout.strip().splitlines()[-1].strip("[]").split(",")]
        extra.append(times[0] - statistics.median(times[1:]))
    assert min(extra) < 0.0015, f"the first transfer took {1000 * min(extra):.2f} ms longer than the next ones"


# -- 6 and 7. Buffer ---------------------------------------------------------------------


def test_buffer_releases_when_the_count_exceeds_the_threshold():
    outlet = Collect(processors=Buffer(count_threshold=10))
    link = Link(Numbers(), outlet, 1)
    for _ in range(10):
        link.transfer()
    assert outlet.payloads == []
    link.transfer()  # the 11th record
    assert outlet.payloads == list(range(11))


def test_a_failing_custom_controller_is_logged_and_skipped_with_conjugate_controllers(caplog):
    def broken(records):
        raise ValueError("controller failed")

    buffer = Buffer(count_threshold=1, custom_controllers=broken, conjugate_controllers=True)
    with caplog.at_level(logging.ERROR, logger="databay.Buffer"):
        assert buffer([Record(1)]) == []  # count: 1 is not more than 1
        released = buffer([Record(2)])
    assert [r.payload for r in released] == [1, 2]
    assert "controller failed" in caplog.text
