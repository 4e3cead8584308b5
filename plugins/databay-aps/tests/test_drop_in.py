"""ApsPlanner as databay 0.3 code sees it (issue 17): a test double is driven through its
public methods, and a link with a zero interval is refused. Links overriding their methods
and shutdown() while starting are rules of the conformance kit (test_contract.py)."""

from __future__ import annotations

import datetime
from unittest.mock import MagicMock

import pytest
from databay import Link
from databay.testing.planner_tester import Probe, ProbeInlet, ProbeOutlet
from databay_aps import ApsPlanner


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
        ApsPlanner(Link(ProbeInlet(Probe()), ProbeOutlet(Probe()), 0))
