"""Link(stage_retention=...): handed to the stage, which keeps delivered batches that long."""

from __future__ import annotations

import datetime

import pytest
from databay import Link
from databay.stage import SqliteStage
from databay.testing.planner_tester import Probe, ProbeInlet, ProbeOutlet


def a_link(**options) -> Link:
    return Link(ProbeInlet(Probe()), ProbeOutlet(Probe()), 1, **options)


def test_no_retention_by_default(tmp_path):
    link = a_link(stage=tmp_path / "link.stage")
    assert link.stage_retention is None


@pytest.mark.parametrize("given", [3600, 3600.0, datetime.timedelta(hours=1)])
def test_retention_is_handed_to_the_stage(tmp_path, given):
    stage = SqliteStage(tmp_path / "link.stage")
    link = a_link(stage=stage, stage_retention=given)
    assert link.stage_retention == datetime.timedelta(hours=1)
    assert stage.retention == 3600  # stages keep seconds


def test_retention_without_a_stage_is_refused():
    with pytest.raises(ValueError, match="stage_retention needs a stage"):
        a_link(stage_retention=60)


def test_retention_with_a_stage_that_cannot_keep_batches_is_refused(tmp_path):
    class NoRetention:
        pass

    with pytest.raises(ValueError, match="cannot keep delivered batches"):
        a_link(stage=NoRetention(), stage_retention=60)


@pytest.mark.parametrize("given", [-1, "1h", True])
def test_bad_retention_is_refused(tmp_path, given):
    with pytest.raises((ValueError, TypeError), match="stage_retention"):
        a_link(stage=SqliteStage(tmp_path / "link.stage"), stage_retention=given)
