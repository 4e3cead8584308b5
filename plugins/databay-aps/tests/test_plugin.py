"""The installed distribution: registration through the databay entry point, lazily, and databay 0.3's import paths."""

from __future__ import annotations

import databay_aps
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-aps"
    components = {"planner": {"aps": "databay_aps.planner:ApsPlanner", "apsplanner": "databay_aps.planner:APSPlanner"}}
    watch = ["apscheduler", "databay_aps.planner"]


def test_databay_03_imports() -> None:
    from databay.planners import APSPlanner, ApsPlanner

    assert issubclass(APSPlanner, ApsPlanner)
    assert databay_aps.ApsPlanner is ApsPlanner and databay_aps.APSPlanner is APSPlanner
