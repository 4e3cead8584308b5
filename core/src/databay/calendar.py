"""Calendar schedules: a link due at times of day, on weekdays, or aligned to the clock.

::

    from databay import Calendar, Link

    Link(inlet, outlet, Calendar("every weekday at 00:00", timezone="Europe/Amsterdam"))

A :class:`Calendar` is a link's ``interval`` where a :class:`datetime.timedelta` would be.
Its text is described in :mod:`databay.calendar_grammar`; its times are those of an IANA
time zone (the machine's own by default, see :func:`databay.timezones.local_zone`).

Daylight saving time:

- **times of day** (``every day at 02:30``, ``every weekday at ...``, ``every monday at
  ...``): a time that does not exist on the day clocks go forward is due once, right after
  the skipped hour (03:00 where 02:00 becomes 03:00); a time that happens twice on the day
  clocks go back is due once, the first time;
- **repetitions aligned to the clock** (``every 15 minutes``, ``every hour at :15``,
  ``every 2 hours``) are due whenever the local clock shows a matching time, as cron does:
  in the hour clocks go back they run in both passes, in the hour they skip, not at all.

A calendar is a pure function of time, so it can be used outside any planner:
:meth:`Calendar.next_after` with datetimes, or :meth:`Calendar.first_due` and
:meth:`Calendar.next_due` with POSIX seconds (the :class:`~databay.schedules.Schedule`
protocol on the wall clock, see :mod:`databay.schedules`).
"""

from __future__ import annotations

import datetime
import math
import time
from collections.abc import Callable

from databay.calendar_grammar import CalendarError, ClockTicks, Rule, TimesOfDay, describe, parse
from databay.timezones import TimezoneError, zone, zone_name

__all__ = ["Calendar", "CalendarError", "TimezoneError", "local_due_time", "local_instants"]

MAX_DUE_TIMES = 10_000
"""The most due times :meth:`Calendar.due_times` lists at once."""


class Calendar:
    """A calendar schedule: the due times ``text`` describes, in ``timezone``.

    :param text: e.g. ``"every weekday at 00:00"``, ``"every day at 06:30 and 18:30"``,
        ``"every monday at 09:00"``, ``"every hour at :15"``, ``"every 15 minutes"``
        (see :mod:`databay.calendar_grammar`).
    :param timezone: an IANA time zone name (``"Europe/Amsterdam"``) or a ``tzinfo``;
        default ``None``: the machine's local zone.
    :param clock: where the current time comes from, in POSIX seconds (default
        :func:`time.time`); tests give a fake clock (:class:`databay.testing.FakeClock`).
    :raises CalendarError: ``text`` is not a calendar schedule (the message says why).
    :raises TimezoneError: ``timezone`` is not a known IANA time zone.
    """

    __slots__ = ("_rule", "_text", "_zone", "clock")

    def __init__(self, text: str, timezone: str | datetime.tzinfo | None = None, *,
                 clock: Callable[[], float] = time.time):
        self._rule: Rule = parse(text)
        self._text = describe(self._rule)
        self._zone = zone(timezone)
        self.clock = clock

    @property
    def text(self) -> str:
        """The schedule in canonical words: ``every weekday at 00:00``."""
        return self._text

    @property
    def timezone(self) -> datetime.tzinfo:
        """The time zone of its times."""
        return self._zone

    @property
    def timezone_name(self) -> str:
        """The time zone's IANA name (``Europe/Amsterdam``)."""
        return zone_name(self._zone)

    @property
    def rule(self) -> Rule:
        """What ``text`` says: a :class:`~databay.calendar_grammar.TimesOfDay` or a
        :class:`~databay.calendar_grammar.ClockTicks`."""
        return self._rule

    # -- datetimes ---------------------------------------------------------------

    def next_after(self, moment: datetime.datetime) -> datetime.datetime:
        """The first due time strictly after ``moment``, in this calendar's zone.

        A naive ``moment`` is read in this calendar's zone.
        """
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self._zone)
        return datetime.datetime.fromtimestamp(self._after(moment.timestamp()), self._zone)

    def due_times(self, start: datetime.datetime, count: int) -> list[datetime.datetime]:
        """The ``count`` first due times after ``start`` (at most :data:`MAX_DUE_TIMES`)."""
        if not 0 <= count <= MAX_DUE_TIMES:
            raise ValueError(f"count must be from 0 to {MAX_DUE_TIMES}, found: {count!r}")
        times, moment = [], start
        for _ in range(count):
            moment = self.next_after(moment)
            times.append(moment)
        return times

    # -- the Schedule protocol, on POSIX seconds ---------------------------------

    def first_due(self, now: float, immediate: bool) -> float:
        """The first due time of a link scheduled at ``now``: ``now`` itself when it is to
        transfer ``immediate`` ly, else the first time of the calendar after ``now``."""
        return now if immediate else self._after(now)

    def next_due(self, due: float, now: float) -> float:
        """The due time following ``due`` that is later than ``now``: times that passed
        meanwhile are skipped (coalesced into the transfer due at ``due``)."""
        return self._after(max(due, now))

    def _after(self, moment: float) -> float:
        rule = self._rule
        if isinstance(rule, ClockTicks):
            return _next_tick(rule, self._zone, moment)
        return _next_time_of_day(rule, self._zone, moment)

    # -- value -------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Calendar):
            return NotImplemented
        return (self._rule, self._zone, self.clock) == (other._rule, other._zone, other.clock)

    def __hash__(self) -> int:
        return hash((self._rule, self._zone))

    def __repr__(self) -> str:
        return f"Calendar({self._text!r}, timezone={self.timezone_name!r})"

    def __str__(self) -> str:
        return f"{self._text} ({self.timezone_name})"


# -- local times and instants -----------------------------------------------------


def local_instants(wall: datetime.datetime, tz: datetime.tzinfo) -> list[datetime.datetime]:
    """The instants at which the clock of ``tz`` shows ``wall`` (naive; whole seconds):
    none on the day it skips that time, two on the day it shows it twice, else one. Aware,
    in ``tz``; what a repetition aligned to the clock is due at."""
    first, second = _folds(wall, tz)
    if first > second:  # skipped: see _instant
        return []
    return [datetime.datetime.fromtimestamp(t, tz) for t in sorted({first, second})]


def local_due_time(wall: datetime.datetime, tz: datetime.tzinfo) -> datetime.datetime:
    """The instant a time of day ``wall`` (naive) is due at in ``tz``: itself; its first
    occurrence on the day the clocks show it twice; right after the gap (when the clocks
    have changed) on the day they skip it. Aware, in ``tz``."""
    return datetime.datetime.fromtimestamp(_instant(wall, tz), tz)


# -- the arithmetic, on whole POSIX seconds -------------------------------------


def _offset(tz: datetime.tzinfo, instant: int) -> int:
    """The UTC offset of ``tz`` at ``instant``, in seconds."""
    offset = datetime.datetime.fromtimestamp(instant, tz).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _first_change(tz: datetime.tzinfo, before: int, after: int) -> int:
    """The first instant in ``(before, after]`` whose offset differs from ``before``'s
    (``after``'s differs): when the clocks changed."""
    base = _offset(tz, before)
    while after - before > 1:
        middle = (before + after) // 2
        if _offset(tz, middle) == base:
            before = middle
        else:
            after = middle
    return after


def _folds(wall: datetime.datetime, tz: datetime.tzinfo) -> tuple[int, int]:
    """The instants ``wall`` (naive) reads as in ``tz`` with ``fold=0`` and ``fold=1``."""
    return int(wall.replace(tzinfo=tz, fold=0).timestamp()), int(wall.replace(tzinfo=tz, fold=1).timestamp())


def _instant(wall: datetime.datetime, tz: datetime.tzinfo) -> int:
    """The instant the local time ``wall`` (naive) is due at: itself; its first occurrence
    when it happens twice; the end of the gap when the clocks skip it."""
    first, second = _folds(wall, tz)
    if first <= second:  # once (equal), or twice: fold=0 is the earlier
        return first
    # Skipped: fold=0 reads it with the offset before the change (the later instant),
    # fold=1 with the offset after it; the clocks changed between the two.
    return _first_change(tz, second, first)


def _next_time_of_day(rule: TimesOfDay, tz: datetime.tzinfo, after: float) -> float:
    """The first instant after ``after`` that ``rule`` is due at.

    Local times map to instants in their order (a skipped time maps to the end of the
    gap, a repeated one to its first occurrence), so the first candidate later than
    ``after``, in the order of days and times, is the answer.
    """
    day = datetime.datetime.fromtimestamp(after, tz).date() - datetime.timedelta(days=1)
    for _ in range(9):  # the day before, and a week and a day from this one
        if day.weekday() in rule.days:
            for at in rule.times:
                instant = _instant(datetime.datetime.combine(day, at), tz)
                if instant > after:
                    return float(instant)
        day += datetime.timedelta(days=1)
    raise CalendarError(f"no due time found in the week after {after}")  # pragma: no cover - days are never empty


def _next_tick(rule: ClockTicks, tz: datetime.tzinfo, after: float) -> float:
    """The first instant after ``after`` at which the local clock shows a time ``rule``
    matches: between two changes of the clocks, the instants ``t`` with
    ``t + offset = phase (mod period)``."""
    start = math.floor(after) + 1
    for _ in range(8):  # each turn passes one change of the clocks
        offset = _offset(tz, start)
        instant = start + (rule.phase - offset - start) % rule.period
        if _offset(tz, instant) == offset:
            return float(instant)
        start = _first_change(tz, start, instant)
    raise CalendarError(f"no due time found after {after}: the zone changes its clocks too often")  # pragma: no cover
