"""Cron schedules: crontab's meaning through APScheduler's CronTrigger, daylight saving time,
start and end dates, jitter; ApsPlanner running cron and calendar links under a fake clock;
`cron` in pipelines."""

from __future__ import annotations

import datetime
import threading
import time
import zoneinfo

import pytest
from databay import Calendar, Link
from databay.pipeline import PipelineError, check_pipeline, load_pipeline
from databay.testing import FakeClock
from databay.testing.planner_tester import Probe, ProbeInlet, ProbeOutlet
from databay_aps import ApsPlanner, Cron, CronError
from databay_aps import planner as planner_module
from databay_aps.cron import ScheduleTrigger
from hypothesis import given, settings
from hypothesis import strategies as st

UTC = datetime.UTC
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")
NYC = zoneinfo.ZoneInfo("America/New_York")


def due(expression: str, start: datetime.datetime, count: int, tz: datetime.tzinfo = UTC, **options) -> list[str]:
    return [moment.isoformat() for moment in Cron(expression, tz, **options).due_times(start, count)]


SATURDAY = datetime.datetime(2024, 6, 1, 12, tzinfo=UTC)


# -- crontab's meaning -------------------------------------------------------------


@pytest.mark.parametrize(("expression", "days"), [
    ("0 0 * * 1-5", ["03", "04", "05", "06", "07", "10"]),     # Monday to Friday
    ("0 0 * * 0", ["02", "09", "16", "23", "30", "07"]),       # Sunday
    ("0 0 * * 7", ["02", "09", "16", "23", "30", "07"]),       # Sunday too
    ("0 0 * * sat,sun", ["02", "08", "09", "15", "16", "22"]),
    ("0 0 * * MON-wed", ["03", "04", "05", "10", "11", "12"]),
    ("0 0 * * 5-7", ["02", "07", "08", "09", "14", "15"]),     # Friday to Sunday
    ("0 0 * * */2", ["02", "04", "06", "08", "09", "11"]),     # 0, 2, 4, 6: Sunday, Tuesday, Thursday, Saturday
])
def test_day_of_week_as_crontab_numbers_it(expression, days):
    assert [moment[8:10] for moment in due(expression, SATURDAY, 6)] == days


def test_day_of_month_or_day_of_week_when_both_are_restricted():
    # The 15th, and every Monday (crontab's rule: either matches).
    assert [m[:10] for m in due("0 0 15 * 1", SATURDAY, 4)] == ["2024-06-03", "2024-06-10", "2024-06-15",
                                                              "2024-06-17"]
    # Starting with *: both must match (the 1st to the 7th that is a Monday).
    assert [m[:10] for m in due("0 0 */1 * 1", SATURDAY, 2)] == ["2024-06-03", "2024-06-10"]


def test_fields_names_nicknames_and_leap_days():
    assert due("30 6 * jun,jul *", SATURDAY, 2) == ["2024-06-02T06:30:00+00:00", "2024-06-03T06:30:00+00:00"]
    assert due("*/20 9-10 * * *", SATURDAY, 2) == ["2024-06-02T09:00:00+00:00", "2024-06-02T09:20:00+00:00"]
    assert due("@daily", SATURDAY, 1) == ["2024-06-02T00:00:00+00:00"]
    assert due("@hourly", SATURDAY, 1) == ["2024-06-01T13:00:00+00:00"]
    assert due("@weekly", SATURDAY, 1) == ["2024-06-02T00:00:00+00:00"]
    assert due("@yearly", SATURDAY, 1) == ["2025-01-01T00:00:00+00:00"]
    assert due("0 0 29 2 *", SATURDAY, 2) == ["2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"]
    assert due("0 12 * * *", datetime.datetime(2024, 2, 28, 13, tzinfo=UTC), 2) == [
        "2024-02-29T12:00:00+00:00", "2024-03-01T12:00:00+00:00"]


@pytest.mark.parametrize(("expression", "message"), [
    ("0 0 * *", "it has five fields, minute hour day-of-month month day-of-week"),
    ("0 0 * * * *", "not 6"),
    ("60 0 * * *", "the minute field '60': '60' is not from 0 to 59"),
    ("0 24 * * *", "the hour field '24': '24' is not from 0 to 23"),
    ("0 0 0 * *", "the day of month field '0': '0' is not from 1 to 31"),
    ("0 0 * 13 *", "the month field '13': '13' is not from 1 to 12"),
    ("0 0 * * 8", "the day of week field '8': '8' is not from 0 to 7 (0 and 7 are Sunday)"),
    ("0 0 * * fri-mon", "the range 'fri-mon' runs backwards"),
    ("0 0 * * 1/0", "is not crontab syntax"),
    ("0 0 L * *", "is not from 1 to 31"),
    ("0 0 31 2 *", "'0 0 31 2 *' is never due: no month has such a day"),
    ("0 0 31 4,6,9,11 *", "is never due"),
])
def test_a_bad_line_names_its_field(expression, message):
    with pytest.raises(CronError) as caught:
        Cron(expression)
    assert message in str(caught.value)


_FIELDS = st.sampled_from(["*", "0", "7", "59", "60", "1-5", "5-1", "*/2", "*/0", "mon-fri", "jan", "²", "L", "1,15",
                           "@daily", "", "-", "1-", "/5"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_FIELDS, min_size=1, max_size=6).map(" ".join)))
def test_any_text_is_a_cron_line_or_a_cron_error(text):
    try:
        cron = Cron(text, UTC)
    except CronError:
        return
    found = cron.next_after(SATURDAY)
    assert found is None or found > SATURDAY


def test_bad_options():
    with pytest.raises(CronError, match="did you mean 'Europe/Amsterdam'"):
        Cron("0 0 * * *", "Europe/Amsterdm")
    with pytest.raises(CronError, match="end_date .* is before start_date"):
        Cron("0 0 * * *", start_date="2025-01-02", end_date="2025-01-01")
    with pytest.raises(CronError, match="not an ISO 8601 date"):
        Cron("0 0 * * *", start_date="soon")
    with pytest.raises(CronError, match="jitter must be a number of seconds, at least 0"):
        Cron("0 0 * * *", jitter=-1)


# -- daylight saving time, as cron does it ------------------------------------------


@pytest.mark.parametrize(("tz", "start", "expected"), [
    (AMS, datetime.datetime(2024, 3, 30, 12, tzinfo=UTC), ["2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"]),
    (NYC, datetime.datetime(2024, 3, 9, 12, tzinfo=UTC), ["2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"]),
])
def test_a_time_of_day_the_clocks_skip_runs_right_after_the_gap(tz, start, expected):
    assert due("30 2 * * *", start, 2, tz) == expected


@pytest.mark.parametrize(("tz", "start", "expression", "expected"), [
    (AMS, datetime.datetime(2024, 10, 26, 12, tzinfo=UTC), "30 2 * * *",
     ["2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"]),
    (NYC, datetime.datetime(2024, 11, 2, 12, tzinfo=UTC), "30 1 * * *",
     ["2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"]),
])
def test_a_time_of_day_the_clocks_show_twice_runs_once(tz, start, expression, expected):
    # APScheduler's own CronTrigger returns that time again and again, for ever.
    assert due(expression, start, 2, tz) == expected


def test_lines_repeating_through_the_day_follow_the_clock():
    assert due("*/30 * * * *", datetime.datetime(2024, 10, 27, 0, tzinfo=UTC) - datetime.timedelta(minutes=1), 5,
               AMS) == ["2024-10-27T02:00:00+02:00", "2024-10-27T02:30:00+02:00", "2024-10-27T02:00:00+01:00",
                        "2024-10-27T02:30:00+01:00", "2024-10-27T03:00:00+01:00"]
    assert due("0 * * * *", datetime.datetime(2024, 3, 10, 6, 30, tzinfo=UTC), 3, NYC) == [
        "2024-03-10T03:00:00-04:00", "2024-03-10T04:00:00-04:00", "2024-03-10T05:00:00-04:00"]


@pytest.mark.parametrize("tz", [AMS, NYC, zoneinfo.ZoneInfo("Australia/Lord_Howe")], ids=str)
@pytest.mark.parametrize("expression", ["*/15 * * * *", "7 * * * *", "*/20 1-3 * * *", "0 */2 * * *"])
def test_repeating_lines_are_every_instant_the_clock_matches(tz, expression):
    """Checked minute by minute around each change of the clocks in 2024."""
    cron = Cron(expression, tz)
    for day in (datetime.datetime(2024, month, 1, tzinfo=UTC) for month in range(1, 13)):
        end = day + datetime.timedelta(days=31)
        changes = [day + datetime.timedelta(hours=h) for h in range(24 * 31)
                   if (day + datetime.timedelta(hours=h)).astimezone(tz).utcoffset()
                   != (day + datetime.timedelta(hours=h + 1)).astimezone(tz).utcoffset()]
        for change in changes:
            start = change - datetime.timedelta(hours=4)
            expected, moment = [], start
            while moment < start + datetime.timedelta(hours=8):
                local = moment.astimezone(tz)
                if cron._next_wall(local.replace(tzinfo=None, fold=0) - datetime.timedelta(seconds=1)) == \
                        local.replace(tzinfo=None, fold=0):
                    expected.append(moment)
                moment += datetime.timedelta(minutes=1)
            found = [m.astimezone(UTC) for m in cron.due_times(start - datetime.timedelta(seconds=1), len(expected))]
            assert found == expected, f"{expression} in {tz} around {change}"
        assert end  # every month looked at


# -- start and end dates, jitter -----------------------------------------------------


def test_start_and_end_dates_bound_the_due_times():
    assert due("0 9 * * *", SATURDAY, 5, AMS, start_date="2025-01-01", end_date=datetime.datetime(2025, 1, 3, 12)) \
        == ["2025-01-01T09:00:00+01:00", "2025-01-02T09:00:00+01:00", "2025-01-03T09:00:00+01:00"]
    cron = Cron("0 9 * * *", AMS, start_date="2025-01-01T09:00")
    assert cron.next_after(SATURDAY).isoformat() == "2025-01-01T09:00:00+01:00"  # the start itself counts
    assert cron.first_due(SATURDAY.timestamp(), immediate=True) == cron.next_after(SATURDAY).timestamp()
    ended = Cron("0 9 * * *", AMS, end_date="2024-01-01")
    assert ended.next_after(SATURDAY) is None
    assert ended.next_due(SATURDAY.timestamp(), SATURDAY.timestamp()) == float("inf")


def test_jitter_delays_each_fire_time_up_to_its_seconds():
    cron = Cron("0 * * * *", UTC, jitter=30)
    assert cron.next_after(SATURDAY) == datetime.datetime(2024, 6, 1, 13, tzinfo=UTC)  # the schedule: no jitter
    hour = datetime.datetime(2024, 6, 1, 13, tzinfo=UTC)
    fired = [ScheduleTrigger(cron).get_next_fire_time(None, SATURDAY) for _ in range(200)]
    assert all(hour <= moment <= hour + datetime.timedelta(seconds=30) for moment in fired)
    assert len(set(fired)) > 100


def test_the_trigger_skips_missed_times_and_follows_a_fake_clock():
    trigger = ScheduleTrigger(Cron("*/5 * * * *", UTC))
    behind = datetime.datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
    now = datetime.datetime(2024, 6, 1, 11, 2, tzinfo=UTC)
    assert trigger.get_next_fire_time(behind, now) == datetime.datetime(2024, 6, 1, 11, 5, tzinfo=UTC)
    clock = FakeClock(datetime.datetime(2030, 1, 1, 0, 0, 3, tzinfo=UTC))
    ahead = ScheduleTrigger(Cron("* * * * *", UTC, clock=clock))
    real_now = datetime.datetime.now(UTC)
    fired = ahead.get_next_fire_time(None, real_now)
    assert 56 <= (fired - real_now).total_seconds() <= 57.1  # 00:01:00 on the fake clock


# -- ApsPlanner ----------------------------------------------------------------------


class Stamps(ProbeInlet):
    def __init__(self, probe, clock):
        super().__init__(probe)
        self.clock, self.times = clock, []

    def pull(self, update):
        self.times.append(self.clock())
        return super().pull(update)


def test_aps_planner_runs_cron_and_calendar_links_at_their_instants():
    gap_end = datetime.datetime(2024, 3, 31, 3, 0, tzinfo=AMS).timestamp()
    clock = FakeClock(gap_end - 0.7)
    inlets = [Stamps(Probe(), clock) for _ in range(3)]
    links = [Link(inlets[0], ProbeOutlet(Probe()), Cron("30 2 * * *", AMS, clock=clock), immediate_transfer=False),
             Link(inlets[1], ProbeOutlet(Probe()), Cron("*/30 * * * *", AMS, clock=clock), immediate_transfer=False),
             Link(inlets[2], ProbeOutlet(Probe()), Calendar("every day at 02:30", AMS, clock=clock),
                  immediate_transfer=False)]
    planner = ApsPlanner(links)
    thread = threading.Thread(target=planner.start)
    thread.start()
    try:
        deadline = time.monotonic() + 5
        while not all(inlet.times for inlet in inlets) and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)
        following = {link: planner.next_due_at(link) for link in links}
    finally:
        planner.shutdown()
        thread.join(10)
    for inlet in inlets:
        assert len(inlet.times) == 1
        assert 0 <= inlet.times[0] - gap_end <= 0.5

    def local(link):  # (the fake clock's reading may differ by microseconds between two reads)
        return datetime.datetime.fromtimestamp(round(following[link].timestamp()), AMS).strftime("%m-%d %H:%M")

    assert [local(link) for link in links] == ["04-01 02:30", "03-31 03:30", "04-01 02:30"]


def test_aps_planner_looks_at_the_clock_while_nothing_is_due(monkeypatch):
    monkeypatch.setattr(planner_module, "WAKE_UP_EVERY", 0.05)
    planner = ApsPlanner(Link(ProbeInlet(Probe()), ProbeOutlet(Probe()), Cron("0 0 1 1 *"), immediate_transfer=False))
    looks = []
    scheduler = planner._scheduler
    wakeup = scheduler.wakeup
    monkeypatch.setattr(scheduler, "wakeup", lambda: (looks.append(time.monotonic()), wakeup()))
    thread = threading.Thread(target=planner.start)
    thread.start()
    time.sleep(0.5)
    planner.shutdown()
    thread.join(10)
    # APScheduler's own timer waits on the loop's clock, which stands still while the machine
    # sleeps: the planner has it read the wall clock again and again meanwhile.
    assert len(looks) >= 4


def test_aps_planner_refuses_a_schedule_it_cannot_run():
    class Elsewhere:
        def first_due(self, now, immediate):
            return now

        def next_due(self, due, now):
            return now + 1

    with pytest.raises(ValueError, match="ApsPlanner runs links on an interval, a databay.Calendar or a"):
        ApsPlanner(Link(ProbeInlet(Probe()), ProbeOutlet(Probe()), Elsewhere()))


# -- pipelines -----------------------------------------------------------------------

PIPELINE = """
[planner]
use = "aps"

[[links]]
tags = ["weekdays"]
cron = "0 0 * * 1-5"
timezone = "Europe/Amsterdam"
start_date = 2025-01-01T00:00:00
jitter = "1m"
inlets = ["null"]
outlets = ["null"]
"""


def test_a_pipeline_link_with_cron():
    pipeline = load_pipeline(PIPELINE)
    cron = pipeline.links[0].interval
    assert isinstance(cron, Cron) and cron.expression == "0 0 * * 1-5" and cron.jitter == 60
    assert cron.start_date.isoformat() == "2025-01-01T00:00:00+01:00"
    assert isinstance(pipeline.planner, ApsPlanner)


def test_a_bad_cron_line_in_a_pipeline_is_reported_at_its_key():
    with pytest.raises(PipelineError) as caught:
        check_pipeline(PIPELINE.replace("1-5", "1-8").replace("2025-01-01T00:00:00", "'first of january'"))
    assert [str(problem) for problem in caught.value.problems] == [
        "links[0]: argument 'start_date': a date and time such as 2025-01-01T06:00:00 (in the link's time zone) or "
        "2025-01-01T06:00:00+01:00, not str ('first of january') (line 9)",
        "links[0]: argument 'cron': the day of week field '1-8': '8' is not from 0 to 7 (0 and 7 are Sunday) or a "
        "name (sun, mon, tue, ...) (line 7)",
    ]
