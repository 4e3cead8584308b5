"""The live view of a planner that transfers its links in other processes (``transfers_here
= False``, as databay-celery's scheduler): it says the transfers run elsewhere rather than
showing counts of zero, which would read as a stalled pipeline."""

from __future__ import annotations

from databay import load_pipeline
from databay.cli.live_view import LiveView
from databay.pipeline.progress import ProgressTracker

PIPELINE = """
[planner]
use = "{module}:Elsewhere"

[[links]]
tags = ["ticks"]
interval = "2s"
inlets = ["null"]
outlets = ["null"]
"""
PLANNER = """
from databay.planners import SchedulePlanner

class Elsewhere(SchedulePlanner):
    transfers_here = False
"""



def test_a_planner_transferring_elsewhere_shows_no_counts(helper_module, monkeypatch, tmp_path, screen):
    monkeypatch.chdir(tmp_path)
    pipeline = load_pipeline(PIPELINE.format(module=helper_module(PLANNER)))
    with ProgressTracker(pipeline) as tracker:
        lines = screen(LiveView(pipeline, tracker))
    summary, header, row = lines[1], lines[2], next(line for line in lines if " ticks " in line)
    assert summary.startswith("transfers run elsewhere (the planner's workers), not counted here; scheduling")
    assert "0 transfers" not in summary and "records" not in summary
    assert header.split() == ["Link", "Tags", "Schedule", "Transfers", "Records", "Last", "Next", "Last", "error"]
    cells = row.split()
    assert cells[:5] == ["links[0]", "ticks", "2s", "elsewhere", "elsewhere"] and "0" not in cells


def test_a_planner_transferring_here_counts(monkeypatch, tmp_path, screen):
    monkeypatch.chdir(tmp_path)
    pipeline = load_pipeline(PIPELINE.replace('use = "{module}:Elsewhere"', 'use = "schedule"'))
    with ProgressTracker(pipeline) as tracker:
        lines = screen(LiveView(pipeline, tracker))
    assert lines[1].startswith("0 transfers, 0 records pulled, 0 pushed; 0 running")
    assert "elsewhere" not in "\n".join(lines)
