"""Pipelines: a link's `schedule` (with `timezone`), and `cron` refused by core's planner."""

from __future__ import annotations

import datetime

import pytest
from databay import Calendar, load_pipeline
from databay.pipeline import PipelineError, check_pipeline
from databay.pipeline.effective import effective_config
from databay.pipeline.schedule_keys import calendar_for_cron

LINK = "[[links]]\ntags = ['t']\ninlets = ['null']\noutlets = ['null']\n"


def problems(text: str) -> list[str]:
    with pytest.raises(PipelineError) as caught:
        check_pipeline(text)
    return [str(problem) for problem in caught.value.problems]


def test_a_schedule_and_its_time_zone_make_the_links_calendar():
    pipeline = load_pipeline(LINK + "schedule = 'every weekday at 00:00'\ntimezone = 'Europe/Amsterdam'\n")
    link = pipeline.links[0]
    assert link.interval == Calendar("every weekday at 00:00", "Europe/Amsterdam")
    assert pipeline.planner.links == [link]


def test_without_a_time_zone_the_calendar_is_on_the_machines():
    from databay.timezones import local_zone

    link = load_pipeline(LINK + "schedule = 'every hour at :15'\n").links[0]
    assert link.interval.timezone is local_zone()


def test_the_effective_configuration_shows_the_schedule_as_it_runs():
    spec = check_pipeline(LINK + "schedule = 'Every Day at 6:30'\ntimezone = 'Europe/Amsterdam'\n")
    arguments = effective_config(spec)["links"][0]["arguments"]
    assert arguments["schedule"] == "every day at 06:30" and arguments["timezone"] == "Europe/Amsterdam"
    assert "interval" not in arguments


def test_a_yaml_pipeline_takes_the_same_keys():
    pytest.importorskip("yaml")
    text = ("links:\n  - tags: [t]\n    schedule: every monday at 09:00\n    timezone: America/New_York\n"
            "    inlets: ['null']\n    outlets: ['null']\n")
    link = load_pipeline(text, format="yaml").links[0]
    assert link.interval == Calendar("every monday at 09:00", "America/New_York")


def test_the_schedule_may_come_from_the_environment():
    spec = check_pipeline(LINK + "schedule = '${WHEN:-every day at 05:00}'\ntimezone = '${TZ_NAME}'\n",
                          environ={"TZ_NAME": "Asia/Tokyo"})
    assert spec.links[0].arguments["interval"] == Calendar("every day at 05:00", "Asia/Tokyo")


@pytest.mark.parametrize(("keys", "expected"), [
    ("schedule = 'every weekdy at 00:00'\n",
     "links[0]: argument 'schedule': 'every weekdy at 00:00' is not a calendar schedule: expected a unit (second, "
     "minute, hour) or days (day, weekday, monday, ...), found 'weekdy' (did you mean 'weekday'?) (line 5)"),
    ("schedule = 'every day'\ntimezone = 'Europe/Amsterdm'\n",
     "links[0]: argument 'timezone': unknown time zone 'Europe/Amsterdm' (did you mean 'Europe/Amsterdam'?) (line 6)"),
    ("schedule = 'every day'\ntimezone = 1\n",
     "links[0]: argument 'timezone': an IANA time zone name such as \"Europe/Amsterdam\", not int (1) (line 6)"),
    ("interval = '5s'\nschedule = 'every day'\n",
     "links[0]: 'interval' and 'schedule': a link has one of 'interval', 'schedule' and 'cron' (line 6)"),
    ("", "links[0]: missing required argument 'interval' (or a calendar: schedule = \"every day at 06:00\") "
         "(line 1)"),
    ("interval = '5s'\ntimezone = 'UTC'\n",
     "links[0]: 'timezone' is the time zone of a 'schedule' or 'cron': an interval has none (line 6)"),
    ("schedule = 'every day'\njitter = 5\n",
     "links[0]: 'jitter' is an option of cron schedules (cron = \"...\", with the aps planner of databay-aps) (line 6)"),
    ("cron = '0 0 * * 1-5'\n",
     "links[0]: argument 'cron': the schedule planner does not run cron schedules; the aps planner of databay-aps "
     "does (pip install databay-aps, then [planner] use = \"aps\"); or, with any planner, "
     "schedule = \"every weekday at 00:00\" (line 5)"),
    ("cron = ''\n", "links[0]: argument 'cron': five crontab fields such as \"0 0 * * 1-5\", not str ('') (line 5)"),
])
def test_each_mistake_is_reported_at_its_key(keys, expected, monkeypatch):
    from databay.errors import ComponentNotFoundError
    from databay.plugins import get_plugin_manager

    manager = get_plugin_manager()
    real_find = manager.find

    def without_aps(kind, name):  # as where databay-aps is not installed
        if name == "aps":
            raise ComponentNotFoundError("no aps")
        return real_find(kind, name)

    monkeypatch.setattr(manager, "find", without_aps)
    assert problems(LINK + keys) == [expected]


@pytest.mark.parametrize(("cron", "calendar"), [
    ("0 0 * * 1-5", "every weekday at 00:00"),
    ("30 6 * * *", "every day at 06:30"),
    ("0 9,17 * * 1,3", "every monday and wednesday at 09:00 and 17:00"),
    ("0 0 * * 0", "every sunday at 00:00"),
    ("0 0 * * 7", "every sunday at 00:00"),
    ("15 * * * *", "every hour at :15"),
    ("*/10 * * * *", "every 10 minutes"),
    ("0 */6 * * *", "every 6 hours"),
    ("* * * * *", "every minute"),
    ("*/1 * * * *", "every minute"),
    ("0 0 * * 6,0", "every weekend at 00:00"),
    ("0 0 * * 0-6", "every day at 00:00"),
    ("*/7 * * * *", None),  # the clock's hour is not divided in sevens: no calendar says it
    ("0 */5 * * *", None),
    ("0 0 1 * *", None),
    ("0 0 * * 9", None),
    ("0 0 * *", None),
])
def test_a_refused_cron_line_suggests_its_calendar(cron, calendar):
    assert calendar_for_cron(cron) == calendar
    if calendar is not None:
        assert Calendar(calendar)  # says something the grammar reads


def test_a_schedule_in_the_file_and_a_calendar_in_python_are_the_same_link():
    from datetime import timedelta

    pipeline = load_pipeline(LINK + "schedule = 'every 15 minutes'\ntimezone = 'UTC'\n")
    assert pipeline.links[0].interval.next_after(datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)) == \
        datetime.datetime(2024, 1, 1, 0, 15, tzinfo=datetime.UTC)
    assert load_pipeline(LINK + "interval = '15m'\n").links[0].interval == timedelta(minutes=15)


def test_the_effective_configuration_runs_the_same(tmp_path):
    from databay.pipeline.effective import effective_toml

    text = LINK + "interval = '90s'\n[[links]]\ntags = ['c']\nschedule = 'every 2 hours'\ntimezone = 'UTC'\n" \
        "inlets = ['null']\noutlets = ['null']\n"
    shown = effective_toml(check_pipeline(text))
    assert 'interval = "1m30s"' in shown and 'schedule = "every 2 hours"' in shown
    again = check_pipeline(shown)
    assert [link.arguments["interval"] for link in again.links] == [
        datetime.timedelta(seconds=90), Calendar("every 2 hours", "UTC")]
