"""The calendar and cron examples run and do what their comments say."""

from __future__ import annotations

import json
import re
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_the_python_example_runs_a_link_on_whole_seconds(installed, tmp_path):
    result = installed.run("python", str(EXAMPLES / "calendar_link.py"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:3] == ["nightly due 2024-10-28T00:00:00+01:00", "nightly due 2024-10-29T00:00:00+01:00",
                         "nightly due 2024-10-30T00:00:00+01:00"]
    ticks = [re.fullmatch(r"tick\.(\d) rolled [1-6] at second (\d\d)\.(\d{3})", line) for line in lines[3:]]
    assert all(ticks) and 2 <= len(ticks) <= 4, result.stdout
    assert [int(tick[1]) for tick in ticks] == list(range(len(ticks)))
    assert all(int(tick[3]) < 500 for tick in ticks), f"not on whole seconds: {result.stdout}"


def test_the_calendar_pipeline_lists_its_times_and_runs(installed, tmp_path):
    result = installed.databay("schedule", str(EXAMPLES / "calendar.toml"), "--from", "2025-03-08T12:00-05:00",
                               "-n", "3")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    early = lines.index("links[1] early: every day at 02:30 (America/New_York)")
    assert lines[early + 1:early + 4] == [
        "  2025-03-08T12:00:00-05:00  (immediate transfer as the planner starts)",
        "  2025-03-09T03:00:00-04:00",  # the night New York skips 02:00-03:00
        "  2025-03-10T02:30:00-04:00",
    ]
    result = installed.databay("run", str(EXAMPLES / "calendar.toml"), "--once", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == ["early.txt", "nightly.txt", "quarter.txt"]


def test_the_cron_pipeline_lists_its_times(installed):
    result = installed.databay("schedule", str(EXAMPLES / "cron.toml"), "--from", "2025-01-10T08:00-05:00",
                               "-n", "3", "--json")
    assert result.returncode == 0, result.stderr
    payroll, office = json.loads(result.stdout)["links"]
    assert payroll["due"] == ["2025-01-15T06:00:00+01:00", "2025-02-01T06:00:00+01:00", "2025-02-15T06:00:00+01:00"]
    assert payroll["jitter"] == 300
    assert office["due"] == ["2025-01-10T08:00:00-05:00", "2025-01-10T09:00:00-05:00", "2025-01-10T09:10:00-05:00"]
