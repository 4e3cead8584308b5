"""Running a loaded pipeline in-process: once, until stopped, and what the progress tracker sees."""

from __future__ import annotations

import threading
import time

from databay import load_pipeline
from databay.hookspecs import hookimpl
from databay.observers import add_observer, remove_observer
from databay.pipeline.progress import ProgressTracker

PIPELINE = """
[[links]]
tags = ["ints"]
interval = "50ms"
inlets = ["random_int", "random_int"]
outlets = [{ use = "file", default_filepath = "OUT", processors = [{ use = "buffer", count_threshold = 1000 }] }]

[[links]]
tags = ["broken"]
interval = "50ms"
inlets = [{ use = "file", filepath = "MISSING", read_mode = "file" }]
outlets = ["null"]
"""


def pipeline_text(tmp_path) -> str:
    return PIPELINE.replace("OUT", str(tmp_path / "out.txt")).replace("MISSING", str(tmp_path / "missing"))


def test_run_once_transfers_every_link_once_and_flushes(tmp_path):
    pipeline = load_pipeline(pipeline_text(tmp_path))
    with ProgressTracker(pipeline) as tracker:
        result = pipeline.run_once(handle_signals=False)
    ints, broken = pipeline.links
    assert result.outcomes[ints].records_pulled == 2
    assert isinstance(result.outcomes[broken], FileNotFoundError) and result.failed == [broken]
    assert len((tmp_path / "out.txt").read_text().splitlines()) == 2  # held by the Buffer, flushed
    assert [(p.label, p.failures) for p in tracker.links] == [("links[0] ints", 0), ("links[1] broken", 1)]
    assert tracker.links[1].last_error.startswith("FileNotFoundError")
    assert tracker.links[0].records_pulled == 2


def test_run_until_the_planner_is_shut_down(tmp_path):
    first_link = pipeline_text(tmp_path).split("[[links]]")[1]
    pipeline = load_pipeline("[[links]]" + first_link)
    stop = threading.Timer(0.3, pipeline.planner.shutdown)
    with ProgressTracker(pipeline) as tracker:
        stop.start()
        result = pipeline.run(handle_signals=False)
    assert result.stopped_by is None  # stopped from code, not by a signal
    produced = tracker.links[0].records_pulled
    assert produced >= 4
    assert len((tmp_path / "out.txt").read_text().splitlines()) == produced  # the Buffer was flushed
    now = time.time()
    due = tracker.links[0].next_transfer(now)
    assert now < due <= now + 0.05 + 1e-6


def test_in_process_observers_come_and_go():
    seen = []

    class Watcher:
        @hookimpl
        def databay_transfer_finished(self, link, update, stats):
            seen.append(str(update))

    watcher = Watcher()
    pipeline = load_pipeline('[[links]]\ntags=["w"]\ninterval=1\ninlets=["null"]\noutlets=["null"]\n')
    add_observer(watcher)
    try:
        pipeline.links[0].transfer()
    finally:
        remove_observer(watcher)
    pipeline.links[0].transfer()
    assert seen == ["w.0"]


def test_the_first_transfer_is_due_one_interval_after_start_without_immediate_transfer():
    pipeline = load_pipeline("[planner]\nimmediate_transfer = false\n"
                             '[[links]]\ninterval = "10s"\ninlets = ["null"]\noutlets = ["null"]\n'
                             '[[links]]\ninterval = "10s"\ninlets = ["null"]\noutlets = ["null"]\n'
                             "immediate_transfer = false\n")
    before = time.time()
    with ProgressTracker(pipeline) as tracker:
        first, second = tracker.links
        assert before + 10 <= first.next_transfer(time.time()) <= time.time() + 10
        assert second.next_transfer(time.time()) == first.first_due
