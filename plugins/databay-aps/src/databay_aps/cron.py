"""Cron schedules: :class:`Cron`, five crontab fields with crontab's meaning, in a time zone.

::

    from databay import Link
    from databay_aps import ApsPlanner, Cron

    link = Link(inlet, outlet, Cron("0 0 * * 1-5", timezone="Europe/Amsterdam"))   # weekdays at midnight
    ApsPlanner(link).start()

The fields are matched by APScheduler's ``CronTrigger``, given crontab's meaning:

- day of week: ``0`` or ``7`` is Sunday, ``1-5`` Monday to Friday, names ``sun``-``sat``
  (APScheduler numbers Monday 0: the field is translated);
- when both day of month and day of week are restricted (neither starts with ``*``), a
  day matching either is due (``0 0 1,15 * 1``: the 1st, the 15th and every Monday);
- daylight saving time, as cron does it (and as databay's calendars): when neither the
  minute nor the hour field starts with ``*`` (a time of day, ``30 2 * * *``), a time the
  clocks skip is due right after the gap and a time they show twice is due once; other
  lines (``*/15 * * * *``, ``0 * * * *``) are due whenever the clock shows a matching
  time: twice in the repeated hour, never in the skipped one.

``start_date`` and ``end_date`` bound the due times; ``jitter`` delays each transfer by up
to that many seconds, at random, as APScheduler's triggers do. Only ``ApsPlanner`` runs cron
schedules; ``databay schedule`` lists their due times (before jitter).
"""

from __future__ import annotations

import datetime
import math
import re
import time
from collections.abc import Callable
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from databay.schedules import local_due_time, local_instants, time_zone, zone_name

__all__ = ["Cron", "CronError"]

_UTC = datetime.UTC
_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
_NAMES = {3: ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
          4: ("sun", "mon", "tue", "wed", "thu", "fri", "sat")}
_ITEM = re.compile(r"(\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(\d+))?")
_NICKNAMES = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
              "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}
_MAX_CANDIDATES = 2000  # local times looked at for one due time (a yearly line needs a few)


class CronError(ValueError):
    """A crontab line, time zone, date or jitter that is not right (the message says which field)."""


class Cron:
    """A crontab schedule: ``expression``'s five fields (minute, hour, day of month, month,
    day of week) in ``timezone``.

    :param expression: e.g. ``"0 0 * * 1-5"``; ``@daily``, ``@hourly``, ``@weekly``,
        ``@monthly`` and ``@yearly`` stand for their lines.
    :param timezone: an IANA name (``"Europe/Amsterdam"``) or a ``tzinfo``; default the
        machine's zone.
    :param start_date: no due time before it (a datetime, or ISO 8601 text; naive: in
        ``timezone``).
    :param end_date: no due time after it; the link then transfers no more.
    :param jitter: delay each transfer by up to this many seconds, at random.
    :param clock: where the current time comes from, in POSIX seconds (tests give a fake one).
    :raises CronError: what is wrong, naming the field.
    """

    def __init__(self, expression: str, timezone: str | datetime.tzinfo | None = None,
                 start_date: datetime.datetime | str | None = None, end_date: datetime.datetime | str | None = None,
                 jitter: float | None = None, *, clock: Callable[[], float] = time.time):
        if not isinstance(expression, str):
            raise CronError(f"a cron schedule is text such as \"0 0 * * 1-5\", not {type(expression).__name__}")
        text = " ".join(expression.lower().split())
        fields = _NICKNAMES.get(text, text).split()
        if len(fields) != 5:
            raise CronError(f"{expression!r} is not a crontab line: it has five fields, minute hour day-of-month "
                            f"month day-of-week (\"0 0 * * 1-5\": weekdays at 00:00), not {len(fields)}")
        for index, field in enumerate(fields):
            _check_field(index, field)
        try:
            self.timezone = time_zone(timezone)
        except ValueError as exc:
            raise CronError(str(exc)) from None
        self.expression = text
        self.start_date = _moment(start_date, self.timezone, "start_date")
        self.end_date = _moment(end_date, self.timezone, "end_date")
        if self.start_date and self.end_date and self.end_date < self.start_date:
            raise CronError(f"end_date {self.end_date.isoformat()} is before start_date {self.start_date.isoformat()}")
        if jitter is not None and (isinstance(jitter, bool) or not isinstance(jitter, (int, float))
                                   or not 0 <= jitter < math.inf):
            raise CronError(f"jitter must be a number of seconds, at least 0, not {jitter!r}")
        self.jitter = float(jitter) if jitter else None
        self.clock = clock
        minute, hour, day, month, weekday = fields
        # crontab's (Vixie cron's) rule: a line whose minute or hour starts with * repeats
        # through the day; any other is a time of day.
        self._time_of_day = not (minute.startswith("*") or hour.startswith("*"))
        self._fields = _matcher(fields)
        if self._next_wall(datetime.datetime(2000, 1, 1)) is None:
            raise CronError(f"{expression!r} is never due: no month has such a day")

    # -- datetimes ---------------------------------------------------------------

    def next_after(self, moment: datetime.datetime) -> datetime.datetime | None:
        """The first due time strictly after ``moment`` (a naive one is in this schedule's
        zone), in its zone, without jitter; ``None`` once past ``end_date``."""
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.timezone)
        # In UTC: aware datetimes of one zone compare as local times, blind to a repeated hour.
        moment = moment.astimezone(_UTC)
        if self.start_date is not None and moment < self.start_date:
            moment = self.start_date - datetime.timedelta(microseconds=1)
        local = moment.astimezone(self.timezone)
        # When the clocks go back within a day, local times up to that much before this
        # one come again later: look from there.
        going_back = _offset(local) - _offset(local + datetime.timedelta(hours=26))
        wall = local.replace(tzinfo=None, fold=0) - datetime.timedelta(seconds=max(0.0, going_back) + 1)
        best: datetime.datetime | None = None
        last_wall = wall  # a later local time can come earlier only across a change of the clocks back
        for _ in range(_MAX_CANDIDATES):
            found = self._next_wall(wall)
            if found is None or (best is not None and found > last_wall):
                break
            wall = found
            if self._time_of_day:  # times of day map to instants in their order: the first is it
                instant = local_due_time(wall, self.timezone).astimezone(_UTC)
                if instant > moment:
                    best = instant
                    break
                continue
            later = [utc for utc in (instant.astimezone(_UTC) for instant in local_instants(wall, self.timezone))
                     if utc > moment]
            if later and (best is None or later[0] < best):
                best = later[0]
                # A later local time comes before it only if the clocks went back in between.
                went_back = _offset(local) - _offset(best.astimezone(self.timezone))
                last_wall = wall + datetime.timedelta(seconds=max(0.0, went_back))
        if best is None or (self.end_date is not None and best > self.end_date):
            return None
        return best.astimezone(self.timezone)

    def _next_wall(self, wall: datetime.datetime) -> datetime.datetime | None:
        """The first local time after ``wall`` (naive) that the fields match."""
        # The trigger reads naive local times as UTC: field arithmetic without any change
        # of the clocks, which next_after applies itself.
        found = self._fields.get_next_fire_time(None, wall.replace(tzinfo=_UTC) + datetime.timedelta(seconds=1))
        return None if found is None else found.replace(tzinfo=None)

    def in_effect(self, moment: datetime.datetime) -> bool:
        """Whether ``moment`` is within ``start_date`` ... ``end_date`` (an immediate transfer
        as the planner starts happens only then)."""
        return (self.start_date is None or moment >= self.start_date) and \
            (self.end_date is None or moment <= self.end_date)

    def due_times(self, start: datetime.datetime, count: int) -> list[datetime.datetime]:
        """The ``count`` first due times after ``start`` (fewer once past ``end_date``)."""
        times: list[datetime.datetime] = []
        moment: datetime.datetime | None = start
        while moment is not None and len(times) < count:
            moment = self.next_after(moment)
            if moment is not None:
                times.append(moment)
        return times

    # -- databay's Schedule protocol, on POSIX seconds -----------------------------

    def first_due(self, now: float, immediate: bool) -> float:
        """``now`` when transferring ``immediate`` ly (between ``start_date`` and
        ``end_date``), else the first due time after it (infinity when there is none)."""
        if immediate and self.in_effect(datetime.datetime.fromtimestamp(now, _UTC)):
            return now
        return self._after(now)

    def next_due(self, due: float, now: float) -> float:
        """The due time after ``due`` and ``now`` (missed ones coalesced); infinity when none."""
        return self._after(max(due, now))

    def _after(self, moment: float) -> float:
        found = self.next_after(datetime.datetime.fromtimestamp(moment, _UTC))
        return math.inf if found is None else found.timestamp()

    @property
    def trigger(self) -> ScheduleTrigger:
        """This schedule as an APScheduler trigger (with its jitter)."""
        return ScheduleTrigger(self)

    def __repr__(self) -> str:
        options = "".join(f", {name}={value!r}" for name, value in (
            ("start_date", self.start_date and self.start_date.isoformat()),
            ("end_date", self.end_date and self.end_date.isoformat()), ("jitter", self.jitter)) if value)
        return f"Cron({self.expression!r}, timezone={zone_name(self.timezone)!r}{options})"

    def __str__(self) -> str:
        return f"cron {self.expression} ({zone_name(self.timezone)})"


class ScheduleTrigger(BaseTrigger):
    """An APScheduler trigger firing at a databay schedule's due times: a
    :class:`~databay.calendar.Calendar` or a :class:`Cron` (anything with ``next_after``).

    The schedule's ``clock`` may be a fake one (tests): APScheduler's times are moved onto
    it and back. Due times missed meanwhile are skipped (coalesced), and a :class:`Cron`'s
    jitter is added as APScheduler's own triggers add it.
    """

    __slots__ = ("schedule",)

    def __init__(self, schedule: Any):
        self.schedule = schedule

    def get_next_fire_time(self, previous_fire_time: datetime.datetime | None,
                           now: datetime.datetime) -> datetime.datetime | None:
        shift = self.shift()  # moved in UTC: in a zone, adding a timedelta adds it to the local time
        after = now if previous_fire_time is None else max(previous_fire_time, now)
        found = self.schedule.next_after(after.astimezone(_UTC) + shift)
        if found is None:
            return None
        return self._apply_jitter(found.astimezone(_UTC) - shift, getattr(self.schedule, "jitter", None), now)

    def shift(self) -> datetime.timedelta:
        """How far the schedule's clock is ahead of the real one (zero unless faked)."""
        clock = getattr(self.schedule, "clock", time.time)
        return datetime.timedelta(0) if clock is time.time else datetime.timedelta(seconds=clock() - time.time())

    def __str__(self) -> str:
        return f"databay[{self.schedule}]"

    def __repr__(self) -> str:
        return f"<ScheduleTrigger ({self.schedule!r})>"


def _offset(moment: datetime.datetime) -> float:
    offset = moment.utcoffset()
    return 0.0 if offset is None else offset.total_seconds()


def _moment(value: Any, zone: datetime.tzinfo, name: str) -> datetime.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value.strip())
        except ValueError:
            raise CronError(f"{name} {value!r} is not an ISO 8601 date and time (e.g. 2025-01-01T06:00)") from None
    elif isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        value = datetime.datetime.combine(value, datetime.time())
    if not isinstance(value, datetime.datetime):
        raise CronError(f"{name} must be a datetime or ISO 8601 text, not {type(value).__name__}")
    return value if value.tzinfo is not None else local_due_time(value, zone)


def _check_field(index: int, field: str) -> None:
    """Raise :class:`CronError` unless ``field`` is crontab syntax for field ``index``."""
    name, low, high = _FIELDS[index]
    names = _NAMES.get(index, ())
    for item in field.split(","):
        match = _ITEM.fullmatch(item)
        if match is None or (match[2] is not None and int(match[2]) == 0):
            raise CronError(f"the {name} field {field!r}: {item!r} is not crontab syntax (a number, a range "
                            f"a-b, *, each optionally /step, separated by commas)")
        if match[1] == "*":
            continue
        bounds = match[1].split("-")
        for value in bounds:
            if not (value in names or value.isdigit()) or not low <= _number(index, value) <= high:
                days = " (0 and 7 are Sunday)" if index == 4 else ""
                raise CronError(f"the {name} field {field!r}: {value!r} is not from {low} to {high}{days}"
                                + (f" or a name ({', '.join(names[:3])}, ...)" if names else ""))
        if len(bounds) == 2 and _number(index, bounds[0]) > _number(index, bounds[1]):
            raise CronError(f"the {name} field {field!r}: the range {match[1]!r} runs backwards")


def _number(index: int, value: str) -> int:
    names = _NAMES.get(index, ())
    return names.index(value) + (1 if index == 3 else 0) if value in names else int(value)


def _weekdays(field: str) -> str:
    """A crontab day-of-week field in APScheduler's words (it numbers Monday 0): day names."""
    if field == "*":
        return "*"
    days: set[int] = set()
    for item in field.split(","):
        match = _ITEM.fullmatch(item)
        assert match is not None  # checked
        step = int(match[2] or 1)
        if match[1] == "*":
            first, last = 0, 7 if step == 1 else 6
        else:
            bounds = match[1].split("-")
            first, last = _number(4, bounds[0]), _number(4, bounds[-1])
            if match[2] is not None and len(bounds) == 1:
                last = 7  # "1/2": from 1 to the end
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_NAMES[4][day] for day in sorted(days))  # APScheduler's names too


def _matcher(fields: list[str]) -> BaseTrigger:
    """APScheduler's cron trigger(s) matching ``fields`` on naive local times (read as UTC)."""
    minute, hour, day, month, weekday = fields

    def trigger(day: str, weekday: str) -> CronTrigger:
        return CronTrigger(second="0", minute=minute, hour=hour, day=day, month=month,
                           day_of_week=_weekdays(weekday), timezone=_UTC)

    if day.startswith("*") or weekday.startswith("*"):
        return trigger(day, weekday)
    # Both restricted: crontab runs on days matching either.
    return OrTrigger([trigger(day, "*"), trigger("*", weekday)])
