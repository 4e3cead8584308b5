"""Producer and consumer apart: a link that only fills a stage and another that only
drains it, each on its own schedule (docs/reliability.md), on the SQLite stage."""

from __future__ import annotations

import threading
import time

import pytest
from databay import Link, load_pipeline
from databay.inlets.null_inlet import NullInlet
from databay.outlets.null_outlet import NullOutlet
from databay.pipeline import PipelineError
from databay.planners import SchedulePlanner
from databay.stage import SqliteStage
from databay.testing import CollectingOutlet, SequenceInlet


def numbers(per_pull: int = 5) -> SequenceInlet:
    """0, 1, 2... ``per_pull`` of them at each pull; its position (kept by a stage) is the next number."""
    return SequenceInlet(per_pull, payload=int, keeps_state=True)


def test_fill_then_drain_by_hand(tmp_path):
    path = tmp_path / "orders.stage"
    inlet, outlet = numbers(), CollectingOutlet()
    fill = Link(inlet, [], 1, tags="in", stage=path, stage_role="fill", stage_outlets=["CollectingOutlet"])
    drain = Link([], outlet, 1, tags="out", stage=path, stage_role="drain")
    fill.transfer()
    stats = fill.transfer()
    assert (stats.records_pulled, stats.records_pushed) == (5, 0)
    assert outlet.payloads == []
    with SqliteStage(path) as stage:
        assert [entry.batches for entry in stage.backlog()] == [2]
    stats = drain.transfer()
    assert (stats.records_pulled, stats.records_pushed) == (0, 10)
    assert outlet.payloads == list(range(10))
    assert drain.transfer().records_pushed == 0   # nothing twice
    fill.transfer()
    drain.transfer()
    assert outlet.payloads == list(range(15))


def test_a_shared_stage_object_works_too(tmp_path):
    stage = SqliteStage(tmp_path / "shared.stage")
    outlet = CollectingOutlet()
    fill = Link(numbers(), [], 1, stage=stage, stage_role="fill", stage_outlets=["CollectingOutlet"])
    drain = Link([], outlet, 1, stage=stage, stage_role="drain")
    fill.transfer()
    drain.transfer()
    fill.transfer()
    drain.transfer()
    assert outlet.payloads == list(range(10))


def test_positions_survive_a_restart_of_the_filling_link(tmp_path):
    path = tmp_path / "restart.stage"
    outlet = CollectingOutlet()
    Link(numbers(), [], 1, stage=path, stage_role="fill", stage_outlets=["CollectingOutlet"]).transfer()
    fill = Link(numbers(), [], 1, stage=path, stage_role="fill", stage_outlets=["CollectingOutlet"])  # a new process
    fill.transfer()
    fill.on_shutdown()
    Link([], outlet, 1, stage=path, stage_role="drain").transfer()
    assert outlet.payloads == list(range(10))


def test_each_on_its_own_schedule_in_one_planner(tmp_path):
    path = tmp_path / "planned.stage"
    inlet, outlet = numbers(3), CollectingOutlet()
    fill = Link(inlet, [], 0.02, tags="in", stage=path, stage_role="fill", stage_outlets=["CollectingOutlet"])
    drain = Link([], outlet, 0.15, tags="out", stage=path, stage_role="drain")
    planner = SchedulePlanner([fill, drain])
    threading.Timer(0.8, planner.shutdown).start()
    planner.start()
    drain.transfer()  # what the fill link committed after the drain's last transfer
    committed = inlet.next
    assert committed >= 3 * 10
    assert outlet.payloads == list(range(committed))


def test_several_outlets_acknowledge_each_their_own(tmp_path):
    path = tmp_path / "two.stage"

    class Failing(CollectingOutlet):
        pass

    good, bad = CollectingOutlet(), Failing(failures=1)
    fill = Link(numbers(), [], 1, stage=path, stage_role="fill", stage_outlets=["CollectingOutlet", "Failing"])
    drain = Link([], [good, bad], 1, stage=path, stage_role="drain", ignore_exceptions=True)
    fill.transfer()
    drain.transfer()
    assert (good.payloads, bad.payloads, bad.failures) == (list(range(5)), [], 0)
    drain.transfer()
    assert good.payloads == bad.payloads == list(range(5))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"stage_role": "fill", "stage_outlets": ["X"]}, "needs a stage"),
    ({"stage_role": "sideways", "stage": "x.stage"}, "stage_role must be one of"),
    ({"stage_role": "fill", "stage": "x.stage"}, "needs stage_outlets"),
    ({"stage_role": "fill", "stage": "x.stage", "stage_outlets": ["X"], "outlets": [NullOutlet()]}, "has no outlets"),
    ({"stage_role": "drain", "stage": "x.stage", "inlets": [NullInlet()]}, "has no inlets"),
    ({"stage": "x.stage", "stage_outlets": ["X"]}, "stage_outlets is for a link with stage_role='fill'"),
])
def test_mistakes_are_refused(tmp_path, kwargs, message):
    arguments = {"inlets": [], "outlets": [], "interval": 1, **kwargs}
    if "stage" in arguments:
        arguments["stage"] = str(tmp_path / arguments["stage"])
    with pytest.raises(ValueError, match=message):
        Link(**arguments)


PIPELINE = """
[[links]]
tags = ["fetch"]
interval = "20ms"
stage = "{stage}"
stage_role = "fill"
stage_outlets = ["FileOutlet"]
inlets = [{{ use = "random_int" }}]

[[links]]
tags = ["store"]
interval = "100ms"
stage = "{stage}"
stage_role = "drain"
outlets = [{{ use = "file", default_filepath = "{out}" }}]
"""


def test_in_a_pipeline_file(tmp_path):
    out = tmp_path / "out.txt"
    pipeline = load_pipeline(PIPELINE.format(stage=tmp_path / "p.stage", out=out))
    fill, drain = pipeline.links
    assert (fill.stage_role, drain.stage_role, fill.stage_outlets) == ("fill", "drain", ("FileOutlet",))
    threading.Timer(0.6, pipeline.planner.shutdown).start()
    started = time.monotonic()
    pipeline.planner.start()
    assert time.monotonic() - started < 10
    drain.transfer()
    lines = out.read_text().splitlines()
    assert len(lines) >= 10


def test_a_pipeline_still_refuses_two_ordinary_links_on_one_stage(tmp_path):
    text = PIPELINE.format(stage=tmp_path / "p.stage", out=tmp_path / "o.txt")
    text = text.replace('stage_role = "fill"\nstage_outlets = ["FileOutlet"]\n', "outlets = ['null']\n")
    text = text.replace('stage_role = "drain"\n', "inlets = ['null']\n")
    with pytest.raises(PipelineError, match="same stage as links"):
        load_pipeline(text)
