"""Calendar schedules: the grammar, the arithmetic of due times, daylight saving time, leap days.

Pure functions of time: nothing waits, no clock is read (the times are given).
"""

from __future__ import annotations

import datetime
import zoneinfo

import pytest
from databay import Calendar, Link
from databay.calendar_grammar import CalendarError, ClockTicks, TimesOfDay, describe, parse
from databay.inlets import NullInlet
from databay.outlets import NullOutlet
from databay.schedules import IntervalGrid, Schedule, due_times, local_due_time, local_instants, schedule_of
from databay.timezones import TimezoneError, local_zone, zone
from hypothesis import given, settings
from hypothesis import strategies as st

UTC = datetime.UTC
AMS = zoneinfo.ZoneInfo("Europe/Amsterdam")  # forward 2024-03-31 02:00 -> 03:00, back 2024-10-27 03:00 -> 02:00
NYC = zoneinfo.ZoneInfo("America/New_York")  # forward 2024-03-10 02:00 -> 03:00, back 2024-11-03 02:00 -> 01:00
SYD = zoneinfo.ZoneInfo("Australia/Sydney")  # back 2024-04-07 03:00 -> 02:00, forward 2024-10-06 02:00 -> 03:00
LHI = zoneinfo.ZoneInfo("Australia/Lord_Howe")  # half an hour: back 2024-04-07 02:00 -> 01:30
T = datetime.time


def at(zone_: datetime.tzinfo, *fields: int, fold: int = 0) -> datetime.datetime:
    return datetime.datetime(*fields, tzinfo=zone_, fold=fold)


def times(text: str, tz: datetime.tzinfo, start: datetime.datetime, count: int) -> list[str]:
    return [moment.isoformat() for moment in Calendar(text, tz).due_times(start, count)]


# -- the grammar -----------------------------------------------------------------

WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


@pytest.mark.parametrize(("text", "rule", "canonical"), [
    ("every day at 06:30", TimesOfDay(EVERY_DAY, (T(6, 30),)), "every day at 06:30"),
    ("every day", TimesOfDay(EVERY_DAY, (T(0, 0),)), "every day at 00:00"),
    ("Every  Day at 6:30:15", TimesOfDay(EVERY_DAY, (T(6, 30, 15),)), "every day at 06:30:15"),
    ("every day at 18:30 and 06:30", TimesOfDay(EVERY_DAY, (T(6, 30), T(18, 30))), "every day at 06:30 and 18:30"),
    ("every day at 06:00, 12:00, and 18:00", TimesOfDay(EVERY_DAY, (T(6), T(12), T(18))),
     "every day at 06:00, 12:00 and 18:00"),
    ("every weekday at 00:00", TimesOfDay(WEEKDAYS, (T(0, 0),)), "every weekday at 00:00"),
    ("every weekend at 10:00", TimesOfDay(frozenset({5, 6}), (T(10),)), "every weekend at 10:00"),
    ("every monday at 09:00", TimesOfDay(frozenset({0}), (T(9),)), "every monday at 09:00"),
    ("every mondays", TimesOfDay(frozenset({0}), (T(0),)), "every monday at 00:00"),
    ("every mon, wed and fri at 09:00", TimesOfDay(frozenset({0, 2, 4}), (T(9),)),
     "every monday, wednesday and friday at 09:00"),
    ("every monday, tuesday, wednesday, thursday and friday at 07:00", TimesOfDay(WEEKDAYS, (T(7),)),
     "every weekday at 07:00"),
    ("every sunday and saturday", TimesOfDay(frozenset({5, 6}), (T(0),)), "every weekend at 00:00"),
    ("every hour", ClockTicks(3600, 0), "every hour"),
    ("every hour at :15", ClockTicks(3600, 900), "every hour at :15"),
    ("every hour at :15:30", ClockTicks(3600, 930), "every hour at :15:30"),
    ("every hour at 15:30", ClockTicks(3600, 930), "every hour at :15:30"),  # schedule's "MM:SS"
    ("every 2 hours", ClockTicks(7200, 0), "every 2 hours"),
    ("every 6 hours at :30", ClockTicks(21600, 1800), "every 6 hours at :30"),
    ("every minute", ClockTicks(60, 0), "every minute"),
    ("every minute at :30", ClockTicks(60, 30), "every minute at :30"),
    ("every 15 minutes", ClockTicks(900, 0), "every 15 minutes"),
    ("every 1 minutes", ClockTicks(60, 0), "every minute"),
    ("every 5 minutes at :10", ClockTicks(300, 10), "every 5 minutes at :10"),
    ("every second", ClockTicks(1, 0), "every second"),
    ("every 10 seconds", ClockTicks(10, 0), "every 10 seconds"),
])
def test_every_form_of_the_grammar(text, rule, canonical):
    assert parse(text) == rule
    assert describe(rule) == canonical
    assert parse(canonical) == rule  # the canonical words read back the same


@pytest.mark.parametrize(("text", "message"), [
    ("", "it is empty"),
    ("daily at 06:00", "expected 'every' first, found 'daily'"),
    ("every weekdy at 00:00", "found 'weekdy' (did you mean 'weekday'?)"),
    ("every mondy at 09:00", "(did you mean 'monday'?)"),
    ("every day at 25:00", "'25:00' is not a time of day"),
    ("every day at 24:00", "'24:00' is written 00:00"),
    ("every day at 9am", "24-hour clock, such as 09:00"),
    ("every day at 9", "write it as 09:00"),
    ("every day at", "it ends where a time of day such as 06:30 should follow"),
    ("every monday 09:00", "expected 'at' and a time, or the end, found '09:00'"),
    ("every monday and", "it ends where the name of a day"),
    ("every day and monday", "expected the name of a day"),
    ("every 7 minutes", "use 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 minutes, or an interval (interval = \"7m\")"),
    ("every 5 hours", "use 1, 2, 3, 4, 6, 8, 12 hours"),
    ("every 0 minutes", "never comes"),
    ("every 2 days", "write an interval instead (interval = \"2d\")"),
    ("every hour at 15", "(write ':15' for 15 minutes past the hour)"),
    ("every minute at 30", "(write ':30' for 30 seconds past the minute)"),
    ("every minute at :75", "':75' is not a second of the minute"),
    ("every 10 seconds at :05", "takes no 'at'"),
    ("every day at 06:00 sharp", "expected the end, found 'sharp'"),
    ("every fortnight", "expected a unit (second, minute, hour) or days"),
    ("every 99999 minutes", "too large a number"),
    ("every day at 06:00" + " and 07:00" * 30, "at most 200 characters"),
])
def test_a_bad_schedule_says_what_and_suggests(text, message):
    with pytest.raises(CalendarError, match="is not a calendar schedule|at most") as caught:
        parse(text)
    assert message in str(caught.value)


def test_a_schedule_is_text():
    with pytest.raises(CalendarError, match="text such as"):
        parse(5)  # type: ignore[arg-type]


# -- time zones ------------------------------------------------------------------


@pytest.mark.parametrize(("name", "message"), [
    ("Europe/Amsterdm", "did you mean 'Europe/Amsterdam'?"),
    ("europe/amsterdam", "did you mean 'Europe/Amsterdam'? names are case-sensitive"),
    ("Amsterdam", "did you mean 'Europe/Amsterdam'?"),
    ("New York", "did you mean 'America/New_York'?"),
    ("Mars/Olympus", "an IANA name such as 'Europe/Amsterdam'"),
    ("../../etc/passwd", "is not an IANA time zone name"),
    ("", "is not an IANA time zone name"),
])
def test_an_unknown_time_zone_gets_a_suggestion(name, message):
    with pytest.raises(TimezoneError) as caught:
        Calendar("every day", name)
    assert message in str(caught.value)


def test_the_default_zone_is_the_machines(monkeypatch):
    local_zone.cache_clear()
    monkeypatch.setenv("TZ", "America/New_York")
    try:
        assert Calendar("every day").timezone == NYC
        assert Calendar("every day").timezone_name == "America/New_York"
    finally:
        local_zone.cache_clear()


def test_a_tzinfo_is_taken_as_it_is():
    assert Calendar("every day", AMS).timezone is AMS
    assert zone(UTC) is UTC


# -- the arithmetic --------------------------------------------------------------


def test_times_of_day_on_chosen_days():
    saturday = at(AMS, 2024, 6, 1, 12)
    assert times("every weekday at 00:00", AMS, saturday, 3) == [
        "2024-06-03T00:00:00+02:00", "2024-06-04T00:00:00+02:00", "2024-06-05T00:00:00+02:00"]
    assert times("every monday and friday at 09:00 and 17:30:15", AMS, saturday, 4) == [
        "2024-06-03T09:00:00+02:00", "2024-06-03T17:30:15+02:00", "2024-06-07T09:00:00+02:00",
        "2024-06-07T17:30:15+02:00"]
    assert times("every weekend at 10:00", AMS, saturday, 3) == [
        "2024-06-02T10:00:00+02:00", "2024-06-08T10:00:00+02:00", "2024-06-09T10:00:00+02:00"]


def test_due_times_are_strictly_after():
    calendar = Calendar("every day at 06:30", UTC)
    assert calendar.next_after(at(UTC, 2024, 6, 1, 6, 30)) == at(UTC, 2024, 6, 2, 6, 30)
    assert calendar.next_after(at(UTC, 2024, 6, 1, 6, 29, 59)) == at(UTC, 2024, 6, 1, 6, 30)


def test_times_are_those_of_the_calendars_zone():
    start = datetime.datetime(2024, 6, 1, tzinfo=UTC)
    assert Calendar("every day at 06:30", "Asia/Kolkata").next_after(start).isoformat() == "2024-06-01T06:30:00+05:30"
    assert Calendar("every day at 06:30", NYC).next_after(start).isoformat() == "2024-06-01T06:30:00-04:00"
    # A naive moment is read in the calendar's zone.
    assert Calendar("every day at 06:30", NYC).next_after(datetime.datetime(2024, 6, 1, 7)) == at(NYC, 2024, 6, 2, 6, 30)


def test_repetitions_are_aligned_to_the_clock():
    start = at(UTC, 2024, 6, 1, 10, 7, 13)
    assert times("every 15 minutes", UTC, start, 3) == [
        "2024-06-01T10:15:00+00:00", "2024-06-01T10:30:00+00:00", "2024-06-01T10:45:00+00:00"]
    assert times("every hour at :05", UTC, start, 2) == ["2024-06-01T11:05:00+00:00", "2024-06-01T12:05:00+00:00"]
    assert times("every 6 hours at :30", UTC, start, 2) == ["2024-06-01T12:30:00+00:00", "2024-06-01T18:30:00+00:00"]
    assert times("every minute at :30", UTC, start, 2) == ["2024-06-01T10:07:30+00:00", "2024-06-01T10:08:30+00:00"]
    assert times("every 10 seconds", UTC, start, 2) == ["2024-06-01T10:07:20+00:00", "2024-06-01T10:07:30+00:00"]
    # On the local clock, in a zone half an hour off UTC.
    assert times("every hour at :15", "Asia/Kolkata", start, 2) == [
        "2024-06-01T16:15:00+05:30", "2024-06-01T17:15:00+05:30"]
    assert times("every 2 hours", "Asia/Kathmandu", start, 1) == ["2024-06-01T16:00:00+05:45"]


# -- daylight saving time, in four zones -------------------------------------------------


@pytest.mark.parametrize(("tz", "day", "due", "following"), [
    (AMS, (2024, 3, 31), "2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"),
    (NYC, (2024, 3, 10), "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"),
    (SYD, (2024, 10, 6), "2024-10-06T03:00:00+11:00", "2024-10-07T02:30:00+11:00"),
])
def test_a_time_of_day_the_clocks_skip_is_due_once_right_after_the_gap(tz, day, due, following):
    start = at(tz, *day) - datetime.timedelta(hours=1)
    assert times("every day at 02:30", tz, start, 2) == [due, following]
    # Two times in the gap are one transfer.
    assert times("every day at 02:00 and 02:30", tz, start, 2) == [due, following.replace("02:30", "02:00")]


@pytest.mark.parametrize(("tz", "day", "first"), [
    (AMS, (2024, 10, 27), "2024-10-27T02:30:00+02:00"),
    (NYC, (2024, 11, 3), "2024-11-03T01:30:00-04:00"),
    (SYD, (2024, 4, 7), "2024-04-07T02:30:00+11:00"),
])
def test_a_time_of_day_the_clocks_show_twice_is_due_once_the_first_time(tz, day, first):
    daily = first[11:16]
    start = at(tz, *day) - datetime.timedelta(hours=1)
    due = times(f"every day at {daily}", tz, start, 2)
    assert due[0] == first
    assert due[1].startswith(f"{day[0]}-{day[1]:02d}-{day[2] + 1:02d}T{daily}")


def test_repetitions_follow_the_clock_through_both_passes_and_skip_the_gap():
    back = at(AMS, 2024, 10, 27, 1, 45)
    assert times("every 30 minutes", AMS, back, 6) == [
        "2024-10-27T02:00:00+02:00", "2024-10-27T02:30:00+02:00",
        "2024-10-27T02:00:00+01:00", "2024-10-27T02:30:00+01:00",
        "2024-10-27T03:00:00+01:00", "2024-10-27T03:30:00+01:00"]
    forward = at(NYC, 2024, 3, 10, 1, 15)
    assert times("every 30 minutes", NYC, forward, 3) == [
        "2024-03-10T01:30:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:30:00-04:00"]
    # Every hour is every real hour: 01:00 EDT, 01:00 EST, 02:00 EST.
    assert times("every hour", NYC, at(NYC, 2024, 11, 3, 0, 30), 3) == [
        "2024-11-03T01:00:00-04:00", "2024-11-03T01:00:00-05:00", "2024-11-03T02:00:00-05:00"]
    # Half an hour back on Lord Howe Island: 01:30 twice.
    assert times("every 30 minutes", LHI, at(LHI, 2024, 4, 7, 1, 10), 4) == [
        "2024-04-07T01:30:00+11:00", "2024-04-07T01:30:00+10:30", "2024-04-07T02:00:00+10:30",
        "2024-04-07T02:30:00+10:30"]
    # Every 2 hours: 02:00 does not exist on the day clocks go forward.
    assert times("every 2 hours", AMS, at(AMS, 2024, 3, 30, 23), 3) == [
        "2024-03-31T00:00:00+01:00", "2024-03-31T04:00:00+02:00", "2024-03-31T06:00:00+02:00"]


@pytest.mark.parametrize("tz", [AMS, NYC, SYD, LHI], ids=str)
@pytest.mark.parametrize("text", ["every 15 minutes", "every hour at :30", "every 2 hours", "every minute at :20"])
def test_repetitions_are_the_instants_the_clock_matches(tz, text):
    """Checked against every second (the rule by brute force) over each change of the clocks in 2024."""
    calendar = Calendar(text, tz)
    rule = calendar.rule
    assert isinstance(rule, ClockTicks)
    for day in _changes_of_the_clocks(tz, 2024):
        start = day - datetime.timedelta(hours=3)
        instant, end, expected = int(start.timestamp()), int(start.timestamp()) + 6 * 3600, []
        while instant < end:
            local = datetime.datetime.fromtimestamp(instant, tz)
            seconds = local.hour * 3600 + local.minute * 60 + local.second
            if seconds % rule.period == rule.phase:
                expected.append(instant)
            instant += 60 if rule.period >= 60 else 1
        found = [moment.timestamp() for moment in calendar.due_times(start - datetime.timedelta(seconds=1),
                                                                     len(expected))]
        assert found == expected, f"{text} in {tz} around {day}"


def _changes_of_the_clocks(tz: datetime.tzinfo, year: int) -> list[datetime.datetime]:
    changes, hour = [], datetime.datetime(year, 1, 1, tzinfo=UTC)
    while hour.year == year:
        following = hour + datetime.timedelta(hours=1)
        if hour.astimezone(tz).utcoffset() != following.astimezone(tz).utcoffset():
            changes.append(following)
        hour = following
    assert len(changes) == 2
    return changes


def test_the_local_time_rules_are_public():
    assert [m.isoformat() for m in local_instants(datetime.datetime(2024, 10, 27, 2, 30), AMS)] == [
        "2024-10-27T02:30:00+02:00", "2024-10-27T02:30:00+01:00"]
    assert local_instants(datetime.datetime(2024, 3, 31, 2, 30), AMS) == []
    assert local_due_time(datetime.datetime(2024, 3, 31, 2, 30), AMS).isoformat() == "2024-03-31T03:00:00+02:00"
    assert local_due_time(datetime.datetime(2024, 10, 27, 2, 30), AMS).isoformat() == "2024-10-27T02:30:00+02:00"


# -- leap days -------------------------------------------------------------------


def test_leap_days():
    assert times("every day at 12:00", UTC, at(UTC, 2024, 2, 28, 13), 2) == [
        "2024-02-29T12:00:00+00:00", "2024-03-01T12:00:00+00:00"]
    assert times("every day at 12:00", UTC, at(UTC, 2023, 2, 28, 13), 1) == ["2023-03-01T12:00:00+00:00"]
    assert times("every thursday at 08:00", AMS, at(AMS, 2024, 2, 23), 2) == [
        "2024-02-29T08:00:00+01:00", "2024-03-07T08:00:00+01:00"]
    assert times("every 12 hours", UTC, at(UTC, 2024, 2, 29, 1), 3) == [
        "2024-02-29T12:00:00+00:00", "2024-03-01T00:00:00+00:00", "2024-03-01T12:00:00+00:00"]


# -- the Schedule protocol -------------------------------------------------------


def test_a_calendar_is_a_schedule_on_posix_seconds():
    calendar = Calendar("every day at 06:00", UTC)
    assert isinstance(calendar, Schedule)
    now = at(UTC, 2024, 6, 1, 12).timestamp()
    assert calendar.first_due(now, immediate=True) == now
    assert calendar.first_due(now, immediate=False) == at(UTC, 2024, 6, 2, 6).timestamp()
    due = at(UTC, 2024, 6, 2, 6).timestamp()
    assert calendar.next_due(due, due + 1) == at(UTC, 2024, 6, 3, 6).timestamp()
    # Times missed meanwhile (the machine slept for three days) are coalesced.
    assert calendar.next_due(due, due + 3 * 86400 + 60) == at(UTC, 2024, 6, 6, 6).timestamp()
    # The clock went back after a transfer: the time is not run again.
    assert calendar.next_due(due, due - 3600) == at(UTC, 2024, 6, 3, 6).timestamp()


def test_due_times_of_any_schedule():
    assert due_times(IntervalGrid(5), 100.0, 3, immediate=True) == [100.0, 105.0, 110.0]
    assert due_times(IntervalGrid(5), 100.0, 2) == [105.0, 110.0]
    start = at(UTC, 2024, 6, 1, 12).timestamp()
    assert due_times(Calendar("every day at 06:00", UTC), start, 2) == [
        at(UTC, 2024, 6, 2, 6).timestamp(), at(UTC, 2024, 6, 3, 6).timestamp()]
    assert due_times(IntervalGrid(5), 0.0, 0) == []


def test_calendars_are_values():
    assert Calendar("every day at 06:00", AMS) == Calendar("Every Day at 6:00", "Europe/Amsterdam")
    assert hash(Calendar("every day at 06:00", AMS)) == hash(Calendar("every day at 06:00", AMS))
    assert Calendar("every day at 06:00", AMS) != Calendar("every day at 06:00", NYC)
    assert Calendar("every day at 06:00", AMS) != Calendar("every day at 06:00", AMS, clock=lambda: 0.0)
    assert repr(Calendar("every weekday", AMS)) == "Calendar('every weekday at 00:00', timezone='Europe/Amsterdam')"
    assert str(Calendar("every weekday", AMS)) == "every weekday at 00:00 (Europe/Amsterdam)"
    with pytest.raises(ValueError, match="count must be"):
        Calendar("every day").due_times(at(UTC, 2024, 1, 1), 10_001)


# -- links -------------------------------------------------------------------------


def test_a_link_takes_a_calendar_where_it_takes_an_interval():
    calendar = Calendar("every weekday at 00:00", AMS)
    link = Link(NullInlet(), NullOutlet(), calendar, tags="nightly")
    assert link.interval is calendar
    assert schedule_of(link) is calendar
    assert "every weekday at 00:00 (Europe/Amsterdam)" in repr(link)
    # Code written for intervals fails on it, rather than running it on a wrong interval.
    assert not hasattr(link.interval, "total_seconds")


def test_an_interval_link_is_unchanged():
    link = Link(NullInlet(), NullOutlet(), interval=datetime.timedelta(seconds=5))
    assert link.interval == datetime.timedelta(seconds=5)
    assert schedule_of(link).seconds == 5.0
    assert isinstance(schedule_of(Link(NullInlet(), NullOutlet(), 2)), IntervalGrid)
    with pytest.raises(ValueError, match="positive interval"):
        schedule_of(Link(NullInlet(), NullOutlet(), 0))
    with pytest.raises(TypeError, match="or a schedule such as databay.Calendar"):
        Link(NullInlet(), NullOutlet(), "every day")


# -- any text --------------------------------------------------------------------

_WORDS = st.sampled_from(["every", "at", "and", ",", "day", "weekday", "monday", "hours", "minutes", "second", "15",
                          "7", "06:30", ":15", "24:00", "²", "١٢:٣٠", "9am", "mondy", "", " "])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=80), st.lists(_WORDS, max_size=8).map(" ".join)))
def test_any_text_is_a_calendar_or_a_calendar_error(text):
    from databay.pipeline.schedule_keys import calendar_for_cron

    try:
        rule = parse(text)
    except CalendarError:
        pass
    else:
        assert parse(describe(rule)) == rule
    calendar_for_cron(text)  # never raises


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=40))
def test_any_time_zone_name_is_a_zone_or_a_timezone_error(name):
    try:
        zone(name)
    except TimezoneError:
        pass
