"""The live view shows each link's schedule and next due time: as the planner says when it
runs, by the link's schedule before."""

from __future__ import annotations

import datetime
import threading
import time

from databay import load_pipeline
from databay.cli.live_view import LiveView
from databay.pipeline.progress import ProgressTracker

PIPELINE = """
[[links]]
tags = ["nightly"]
schedule = "every weekday at 00:00"
timezone = "Europe/Amsterdam"
immediate_transfer = false
inlets = ["null"]
outlets = ["null"]

[[links]]
tags = ["often"]
interval = "2s"
inlets = ["null"]
outlets = ["null"]
"""



def row(lines: list[str], tag: str) -> str:
    return next(line for line in lines if f" {tag} " in line)


def test_before_the_start_the_next_time_comes_from_the_schedule(screen):
    pipeline = load_pipeline(PIPELINE)
    with ProgressTracker(pipeline) as tracker:
        lines = screen(LiveView(pipeline, tracker))
    assert "Schedule" in lines[2]
    nightly = pipeline.links[0].interval.next_after(datetime.datetime.now(datetime.UTC))
    expected = nightly.strftime("%a %d %b %H:%M %Z") if (nightly - datetime.datetime.now(datetime.UTC)) > \
        datetime.timedelta(days=1) else nightly.strftime("at %H:%M:%S %Z")
    assert "every weekday at 00:00 (Europe/Amsterdam)" in row(lines, "nightly")
    assert row(lines, "nightly").rstrip().endswith(expected)
    assert "2s" in row(lines, "often") and "in 0.0 s" in row(lines, "often")


def test_while_running_the_planner_says_when(screen):
    pipeline = load_pipeline(PIPELINE)
    planner = pipeline.planner
    with ProgressTracker(pipeline) as tracker:
        thread = threading.Thread(target=planner.start)
        thread.start()
        try:
            deadline = time.monotonic() + 5
            often = tracker.links[1]
            # its immediate transfer done (else its row says "running"), its next one known
            while (planner.next_due_at(pipeline.links[1]) is None or often.running or not often.transfers) \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
            due = planner.next_due_at(pipeline.links[0])
            lines = screen(LiveView(pipeline, tracker))
        finally:
            planner.shutdown()
            thread.join(10)
    assert due == pipeline.links[0].interval.next_after(datetime.datetime.now(datetime.UTC))
    assert row(lines, "often").rstrip().endswith(" s")  # "in 1.9 s"
    local = due.astimezone(pipeline.links[0].interval.timezone)
    assert local.strftime("%H:%M") in row(lines, "nightly")
