"""The dashboard shows each link's schedule as written (interval, calendar with its time zone,
cron), its next due time from the planner's ``next_due_at`` in the link's zone, and the
lateness of calendar links against their due times; a paused calendar link transfers not."""

from __future__ import annotations

import datetime
import math
import re
import time
import zoneinfo

import pytest
from databay import Calendar
from web_helpers import TOKEN, metric_samples, wait_for

WEB = """
[web]
listen = "127.0.0.1:0"
token = "{token}"
"""
LINKS = """
[[links]]
tags = ["fast"]
interval = "50ms"
inlets = [{{ use = "web_components:Counter" }}]
outlets = ["null"]

[[links]]
tags = ["ticks"]
schedule = "every second"
timezone = "Asia/Kolkata"
immediate_transfer = false
inlets = [{{ use = "web_components:Counter" }}]
outlets = ["null"]

[[links]]
tags = ["morning"]
schedule = "every day at 06:30"
timezone = "America/New_York"
immediate_transfer = false
inlets = [{{ use = "web_components:Counter" }}]
outlets = ["null"]
"""


def pipeline(planner: str, links: str = LINKS) -> str:
    return f'[planner]\nuse = "{planner}"\nignore_exceptions = true\n' + links.format() + WEB.format(token=TOKEN)


def lateness_count(running) -> float:
    return metric_samples(running.client.get("/metrics").text)[("databay_transfer_lateness_seconds_count", ())]


def test_schedules_as_written_and_next_due_times_in_the_links_zone(run_pipeline):
    running = run_pipeline(pipeline("schedule"))
    assert wait_for(lambda: running.overview()["links"][1]["transfers"] >= 2)
    fast, ticks, morning = running.overview()["links"]
    assert fast["schedule"] == "interval 50ms" and fast["timezone"] is None
    assert ticks["schedule"] == "schedule every second (Asia/Kolkata)" and ticks["timezone"] == "Asia/Kolkata"
    assert morning["schedule"] == "schedule every day at 06:30 (America/New_York)"
    # next due times: wall-clock, with the offset of the link's zone
    expected = Calendar("every day at 06:30", "America/New_York").next_after(datetime.datetime.now(datetime.UTC))
    assert morning["next_due_at"] == expected.isoformat() and morning["next_due"] == expected.timestamp()
    assert morning["state"] == "waiting"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+05:30", ticks["next_due_at"])
    assert 0 <= ticks["next_due"] - time.time() <= 1.5 and ticks["next_due"] == int(ticks["next_due"])
    assert datetime.datetime.fromisoformat(fast["next_due_at"]).utcoffset() is not None
    page = running.client.get("/").text
    assert "schedule every day at 06:30 (America/New_York)" in page and expected.isoformat() in page
    link_page = running.client.get("/links/2").text
    assert "schedule every day at 06:30 (America/New_York)" in link_page and expected.isoformat() in link_page
    assert running.client.get("/api/links/2").json()["next_due_at"] == expected.isoformat()


def test_the_lateness_of_calendar_links_is_against_their_due_times(run_pipeline):
    running = run_pipeline(pipeline("schedule"))
    assert wait_for(lambda: running.overview()["links"][1]["transfers"] >= 4)
    recent = running.client.get("/api/links/1").json()["recent"]
    measured = [t for t in recent if t["lateness"] is not None]
    assert len(measured) == len(recent), recent  # the first too: due at the first time after the planner started
    for transfer in measured:
        # due every second on the second: the lateness is the start's fraction of a second
        assert transfer["lateness"] == pytest.approx(transfer["started"] - math.floor(transfer["started"]), abs=2e-3)
    assert lateness_count(running) >= len(measured)


def test_a_paused_calendar_link_transfers_not_and_resumes_on_its_times(run_pipeline):
    running = run_pipeline(pipeline("schedule"))
    assert wait_for(lambda: running.overview()["links"][1]["transfers"] >= 2)
    assert running.client.api("POST", "/api/links/1/pause").status == 200
    time.sleep(0.3)  # a transfer in flight when pausing may still end
    paused = running.overview()["links"][1]
    assert paused["state"] == "paused" and paused["paused"] is True
    time.sleep(2.5)  # two or three due times pass
    assert running.overview()["links"][1]["transfers"] == paused["transfers"]
    assert running.client.api("POST", "/api/links/1/resume").status == 200
    assert wait_for(lambda: running.overview()["links"][1]["transfers"] >= paused["transfers"] + 2)
    after = [t for t in running.client.get("/api/links/1").json()["recent"] if t["ended"] > time.time() - 2.5]
    # measured against the due time it ran for, not the last one before the pause
    assert after and all(t["lateness"] is not None and t["lateness"] < 1 for t in after), after


def test_cron_and_calendar_links_on_the_aps_planner(run_pipeline):
    pytest.importorskip("databay_aps", reason="the aps planner is databay-aps's")
    links = LINKS + """
[[links]]
tags = ["weekdays"]
cron = "0 0 * * 1-5"
timezone = "Europe/Amsterdam"
end_date = "2099-12-31T00:00"
inlets = [{{ use = "web_components:Counter" }}]
outlets = ["null"]
"""
    running = run_pipeline(pipeline("aps", links))
    assert wait_for(lambda: running.overview()["links"][1]["transfers"] >= 3)
    weekdays = running.overview()["links"][3]
    assert weekdays["schedule"] == "cron 0 0 * * 1-5 (Europe/Amsterdam), end_date 2099-12-31T00:00"
    due = datetime.datetime.fromisoformat(weekdays["next_due_at"])
    assert due.tzinfo is not None and (due.hour, due.minute) == (0, 0) and due.weekday() < 5
    assert due.utcoffset() == zoneinfo.ZoneInfo("Europe/Amsterdam").utcoffset(due.replace(tzinfo=None))
    recent = running.client.get("/api/links/1").json()["recent"]
    assert sum(t["lateness"] is not None for t in recent) >= 2, recent  # the aps planner tells its due times
    assert lateness_count(running) >= 2
