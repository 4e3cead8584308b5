"""The monitor notes finished transfers cheaply and folds them in when read: whatever reads
it right after transfers sees them, in the order they happened, and what waits is bounded."""

from __future__ import annotations

import pytest
from databay import load_pipeline
from databay.observers import add_observer, remove_observer
from databay_web import monitor as monitor_module
from databay_web.monitor import Monitor
from web_helpers import wait_for

PIPELINE = """
[[links]]
tags = ["numbers"]
interval = 3600
inlets = [{ use = "web_components:Counter", count = 2 }]
outlets = [{ use = "web_components:Flaky", fail_first = 0 }]
"""


@pytest.fixture
def watched():
    """A pipeline's link and the monitor watching its transfers (``Link.transfer``)."""
    pipeline = load_pipeline(PIPELINE)
    monitor = Monitor(pipeline)
    add_observer(monitor)
    yield pipeline.links[0], monitor
    remove_observer(monitor)


def test_reading_right_after_transfers_sees_them(watched):
    link, monitor = watched
    for _ in range(3):
        link.transfer()
    summary = monitor.snapshot()[0]
    assert (summary["transfers"], summary["records_in"], summary["records_out"]) == (3, 6, 6)
    assert summary["last"]["outcome"] == "ok" and summary["last"]["update"] == "numbers.2"
    assert monitor.counters()[0][1:4] == (3, 0, 6)
    recent, errors = monitor.history(0)
    assert [row["update"] for row in recent] == ["numbers.2", "numbers.1", "numbers.0"] and errors == []
    durations, duration_sum, _, _ = monitor.histograms()
    assert durations[-1] == ("+Inf", 3) and duration_sum > 0


def test_a_failure_comes_after_the_transfers_that_finished_before_it(watched):
    link, monitor = watched
    link.transfer()
    link.outlets[0].always = True
    with pytest.raises(Exception, match="push"):
        link.transfer()
    link.outlets[0].always = False
    link.transfer()
    recent, errors = monitor.history(0)
    assert [(row["update"], row["outcome"]) for row in recent] == [
        ("numbers.2", "ok"), ("numbers.1", "failed"), ("numbers.0", "ok")]
    assert [error["update"] for error in errors] == ["numbers.1"]
    summary = monitor.snapshot()[0]
    assert (summary["transfers"], summary["failures"], summary["failing_since"]) == (3, 1, None)


def test_transfers_waiting_to_be_folded_are_bounded(watched, monkeypatch):
    link, monitor = watched
    monkeypatch.setattr(monitor_module, "PENDING_LIMIT", 5)
    for _ in range(12):
        link.transfer()
        assert len(monitor._pending) < 5
    assert monitor.snapshot()[0]["transfers"] == 12


def test_the_planners_loop_folds_between_bursts_when_nothing_reads(run_pipeline):
    running = run_pipeline("""
[[links]]
tags = ["ticking"]
interval = "50ms"
inlets = [{ use = "web_components:Counter" }]
outlets = [{ use = "null" }]

[web]
listen = "127.0.0.1:0"
""")
    monitor = running.service._monitor
    # The link's watch is read as is (no fold): only the timer on the loop can make it count.
    assert wait_for(lambda: monitor.links[0].transfers >= 5, timeout=10)
    assert len(monitor._pending) < 10
