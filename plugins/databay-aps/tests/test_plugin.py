"""Registration through the databay entry point, lazily, and databay 0.3's import paths."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_aps
from databay.testing import plugin_listing


def test_listing_planners_does_not_import_apscheduler() -> None:
    listing = plugin_listing("databay-aps", watch=["apscheduler", "databay_aps.planner"])
    assert listing.components == {"planner": {"aps": "databay_aps.planner:ApsPlanner",
                                              "apsplanner": "databay_aps.planner:APSPlanner"}}
    assert listing.imported == []


def test_found_by_name_and_by_class_name(databay_load_plugins) -> None:
    from databay_aps.planner import APSPlanner, ApsPlanner

    manager = databay_load_plugins("databay-aps")
    assert manager.resolve("planner", "aps") is ApsPlanner
    assert manager.resolve("planner", "ApsPlanner") is ApsPlanner
    assert manager.resolve("planner", "APSPlanner") is APSPlanner


def test_databay_03_imports() -> None:
    from databay.planners import APSPlanner, ApsPlanner

    assert ApsPlanner.__module__ == "databay_aps.planner"
    assert issubclass(APSPlanner, ApsPlanner)
    assert databay_aps.ApsPlanner is ApsPlanner and databay_aps.APSPlanner is APSPlanner


def test_plugin_check_passes(databay_load_plugins) -> None:
    databay_load_plugins("databay-aps")  # and so does the databay command below
    result = subprocess.run([sys.executable, "-m", "databay", "plugins", "--check", "--json"],
                            capture_output=True, text=True, timeout=60)
    verdicts = [v for v in json.loads(result.stdout) if v["distribution"] == "databay-aps"]
    assert [v["subject"] for v in verdicts] == ["databay-aps:aps", "databay-aps:apsplanner"]
    assert all(v["ok"] for v in verdicts), verdicts
