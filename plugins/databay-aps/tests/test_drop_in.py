"""ApsPlanner as databay 0.3 code sees it: links driven through their public methods, a
zero interval refused, and shutdown right after start (issue 17, items 1, 3, 4)."""

from __future__ import annotations

import datetime
import threading
from unittest.mock import MagicMock

import pytest
from databay import Inlet, Link, Outlet
from databay_aps import ApsPlanner


class Numbers(Inlet):
    def pull(self, update):
        return [update.transfer_number]


class Collect(Outlet):
    def __init__(self):
        super().__init__()
        self.payloads = []

    def push(self, records, update):
        self.payloads.extend(r.payload for r in records)


class JournalLink(Link):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.journal = []

    def transfer(self):
        self.journal.append("transfer")
        return super().transfer()

    def on_start(self):
        self.journal.append("on_start")
        super().on_start()

    def on_shutdown(self):
        self.journal.append("on_shutdown")
        super().on_shutdown()


def test_a_link_subclass_is_driven_through_its_methods(run_planner, wait_until):
    outlet = Collect()
    link = JournalLink(Numbers(), outlet, 0.05)
    planner = ApsPlanner(link)
    run_planner(planner)
    assert wait_until(lambda: link.journal.count("transfer") >= 3)
    planner.shutdown()
    assert link.journal[0] == "on_start" and link.journal[-1] == "on_shutdown"
    assert outlet.payloads == list(range(len(outlet.payloads)))


def test_a_test_double_is_driven(run_planner, wait_until):
    double = MagicMock(spec=Link)
    double.interval = datetime.timedelta(seconds=0.02)
    planner = ApsPlanner(double)
    run_planner(planner)
    assert wait_until(lambda: double.transfer.call_count >= 3)
    planner.shutdown()
    double.on_start.assert_called_once_with()
    double.on_shutdown.assert_called_once_with()


def test_a_link_with_a_zero_interval_is_refused():
    with pytest.raises(ValueError, match="a planner schedules only links with a positive interval"):
        ApsPlanner(Link(Numbers(), Collect(), 0))


def test_shutdown_right_after_start_in_a_thread_stops_the_planner():
    for _ in range(10):
        planner = ApsPlanner(Link(Numbers(), Collect(), 0.05))
        thread = threading.Thread(target=planner.start, daemon=True)
        thread.start()
        while not planner.running and thread.is_alive():
            pass
        planner.shutdown()
        thread.join(10)
        assert not thread.is_alive(), "shutdown() right after start() was lost"
