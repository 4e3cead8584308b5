"""Registration through the databay entry point, lazily, and databay 0.3's import paths."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_aps


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_planners_does_not_import_apscheduler() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {c.name: c.import_path for c in m.components('planner') if c.distribution == 'databay-aps'}\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] == 'apscheduler' or n == 'databay_aps.planner')\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"aps": "databay_aps.planner:ApsPlanner",
                              "apsplanner": "databay_aps.planner:APSPlanner"}
    assert found["loaded"] == []


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_aps.planner import APSPlanner, ApsPlanner

    manager = get_plugin_manager()
    assert manager.find("planner", "aps").load() is ApsPlanner
    assert manager.find("planner", "ApsPlanner").load() is ApsPlanner
    assert manager.find("planner", "APSPlanner").load() is APSPlanner


def test_databay_03_imports() -> None:
    from databay.planners import APSPlanner, ApsPlanner

    assert ApsPlanner.__module__ == "databay_aps.planner"
    assert issubclass(APSPlanner, ApsPlanner)
    assert databay_aps.ApsPlanner is ApsPlanner and databay_aps.APSPlanner is APSPlanner


def test_plugin_check_passes() -> None:
    from databay.plugins import get_plugin_manager
    from databay.plugins.checks import check_all

    verdicts = [v for v in check_all(get_plugin_manager()) if v.subject.startswith("databay-aps")]
    assert [v.subject for v in verdicts] == ["databay-aps:aps", "databay-aps:apsplanner"]
    assert all(v.ok for v in verdicts), verdicts
