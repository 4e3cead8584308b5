"""`databay schedule PIPELINE` through the installed command: each link's next due times,
for interval, calendar and cron links, without running anything."""

from __future__ import annotations

import json

import pytest

PIPELINE = """
[[links]]
tags = ["nightly"]
schedule = "every weekday at 00:00"
timezone = "Europe/Amsterdam"
inlets = [{ use = "file", filepath = "MARKER", read_mode = "file" }]
outlets = ["print"]

[[links]]
tags = ["often"]
interval = "90s"
immediate_transfer = false
inlets = ["null"]
outlets = ["null"]

[[links]]
tags = ["gap"]
schedule = "every day at 02:30"
timezone = "America/New_York"
inlets = ["null"]
outlets = ["null"]
"""



def test_the_next_due_times_of_each_link(installed, tmp_path, write_pipeline):
    path = write_pipeline(PIPELINE.replace("MARKER", str(tmp_path / "never-read")))
    result = installed.databay("schedule", str(path), "--next", "3", "--from", "2024-03-08T23:00:00+01:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{path}: the next 3 due times of each link from 2024-03-08T23:00:00+01:00 (nothing runs)",
        "links[0] nightly: every weekday at 00:00 (Europe/Amsterdam)",
        "  2024-03-08T23:00:00+01:00  (immediate transfer as the planner starts)",
        "  2024-03-11T00:00:00+01:00",
        "  2024-03-12T00:00:00+01:00",
        "links[1] often: every 1m30s",
        "  2024-03-08T23:01:30+01:00",
        "  2024-03-08T23:03:00+01:00",
        "  2024-03-08T23:04:30+01:00",
        "links[2] gap: every day at 02:30 (America/New_York)",
        "  2024-03-08T17:00:00-05:00  (immediate transfer as the planner starts)",
        "  2024-03-09T02:30:00-05:00",
        "  2024-03-10T03:00:00-04:00",  # clocks go forward at 02:00: right after the gap
    ]
    assert result.stderr == ""
    assert not (tmp_path / "never-read").exists()


def test_json_for_scripts(installed, write_pipeline):
    result = installed.databay("schedule", str(write_pipeline(PIPELINE)), "--json", "-n", "2",
                               "--from", "2024-10-26T23:00:00+00:00")
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)
    assert described["from"] == "2024-10-26T23:00:00+00:00"
    nightly, often, gap = described["links"]
    assert nightly == {"place": "links[0]", "tags": ["nightly"],
                       "schedule": "every weekday at 00:00 (Europe/Amsterdam)", "timezone": "Europe/Amsterdam",
                       "immediate": True, "due": ["2024-10-27T01:00:00+02:00", "2024-10-28T00:00:00+01:00"]}
    assert often["due"] == ["2024-10-26T23:01:30+00:00", "2024-10-26T23:03:00+00:00"]
    assert often["immediate"] is False and often["timezone"] == "UTC"


def test_a_start_without_offset_is_in_the_machines_zone(installed, write_pipeline):
    result = installed.databay("schedule", str(write_pipeline(PIPELINE)), "--json", "-n", "1",
                               "--from", "2024-06-01T12:00", env={"TZ": "Asia/Tokyo"})
    assert result.returncode == 0, result.stderr
    described = json.loads(result.stdout)
    assert described["from"] == "2024-06-01T12:00:00+09:00"
    assert described["links"][1]["due"] == ["2024-06-01T12:01:30+09:00"]


def test_from_now_by_default(installed, write_pipeline):
    result = installed.databay("schedule", str(write_pipeline(PIPELINE)), "--json")
    assert result.returncode == 0, result.stderr
    assert all(len(link["due"]) == 5 for link in json.loads(result.stdout)["links"])


@pytest.mark.parametrize(("args", "message"), [
    (["--from", "tomorrow"], "Error: --from: 'tomorrow' is not an ISO 8601 date and time"),
    (["--next", "0"], "Invalid value for '--next'"),
    (["--next", "1001"], "Invalid value for '--next'"),
])
def test_bad_options_exit_2(installed, args, message, write_pipeline):
    result = installed.databay("schedule", str(write_pipeline(PIPELINE)), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_an_invalid_pipeline_exits_2_with_every_problem(installed, write_pipeline):
    text = PIPELINE.replace("every weekday at 00:00", "every weekdy at 00:00").replace("America/New_York",
                                                                                        "America/New_Yrok")
    result = installed.databay("schedule", str(write_pipeline(text)))
    assert result.returncode == 2
    assert "links[0]: argument 'schedule': 'every weekdy at 00:00' is not a calendar schedule" in result.stderr
    assert "(did you mean 'weekday'?)" in result.stderr
    assert ("links[2]: argument 'timezone': unknown time zone 'America/New_Yrok' (did you mean "
            "'America/New_York'?) (line 19)") in result.stderr
    assert result.stdout == ""


CRON = """
[planner]
use = "PLANNER"

[[links]]
tags = ["weekdays"]
cron = "0 0 * * 1-5"
timezone = "Europe/Amsterdam"
end_date = 2024-03-14T00:00:00
jitter = 30
inlets = ["null"]
outlets = ["null"]
"""


def test_cron_links_with_the_aps_planner(installed, write_pipeline):
    result = installed.databay("schedule", str(write_pipeline(CRON.replace("PLANNER", "aps"))), "-n", "5",
                               "--from", "2024-03-09T12:00:00+01:00")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[1:] == [
        "links[0] weekdays: cron 0 0 * * 1-5 (Europe/Amsterdam) (each up to 30 s later: jitter)",
        "  2024-03-09T12:00:00+01:00  (immediate transfer as the planner starts)",
        "  2024-03-11T00:00:00+01:00",  # Sunday is 0 or 7, Monday to Friday 1-5, as in crontab
        "  2024-03-12T00:00:00+01:00",
        "  2024-03-13T00:00:00+01:00",
        "  2024-03-14T00:00:00+01:00",
    ]


def test_core_refuses_cron_naming_databay_aps(installed, write_pipeline):
    path = write_pipeline(CRON.replace("PLANNER", "schedule"))
    for command in ("validate", "schedule"):
        result = installed.databay(command, str(path))
        assert result.returncode == 2
        assert ("links[0]: argument 'cron': the schedule planner does not run cron schedules; the aps planner of "
                "databay-aps does ([planner] use = \"aps\"); or, with any planner, "
                "schedule = \"every weekday at 00:00\" (line 7)") in result.stderr
