"""When links are due: the :class:`Schedule` protocol, :class:`IntervalGrid` and :class:`Calendar`.

A schedule answers two questions in seconds on one clock: when is a link scheduled at
``now`` first due (:meth:`Schedule.first_due`), and which due time follows one that fell
due (:meth:`Schedule.next_due`, skipping those that passed meanwhile). Both are pure
functions, usable outside any planner (a distributed planner computes its slots from them):

- :class:`IntervalGrid` (a link with an interval) counts elapsed seconds, so it works on
  any clock: planners run it on their loop's monotonic clock, where no change of the wall
  clock (daylight saving time, a correction, a suspended machine) moves its grid;
- :class:`~databay.calendar.Calendar` (a link with a calendar schedule) works on the
  wall clock: POSIX seconds, which its :attr:`~databay.calendar.Calendar.clock` gives.
  Planners re-read that clock before each due time (and at least every
  ``databay.run.schedules.WALL_CLOCK_RECHECK`` seconds), so a clock that jumps, or a
  machine that sleeps, moves no transfer off its calendar.

:func:`schedule_of` gives a link's schedule; :func:`due_times` lists a schedule's due times.

For schedules of their own (databay-aps's cron schedules), planners find here what the
calendar uses: :func:`time_zone` (an IANA name to a zone, ``TimezoneError`` with a
suggestion), :func:`local_zone` (the machine's, the default), :func:`zone_name`, and the
daylight saving time rules: :func:`local_due_time` (a time of day) and
:func:`local_instants` (a time the clock shows, for repetitions aligned to the clock).
"""

from __future__ import annotations

import math
from typing import Any, Protocol, runtime_checkable

from databay.calendar import Calendar, CalendarError, TimezoneError, local_due_time, local_instants
from databay.timezones import local_zone, zone_name
from databay.timezones import zone as time_zone

__all__ = [
    "Calendar", "CalendarError", "IntervalGrid", "Schedule", "TimezoneError", "due_times", "local_due_time",
    "local_instants", "local_zone", "schedule_of", "time_zone", "zone_name",
]


@runtime_checkable
class Schedule(Protocol):
    """A link's due times, in seconds on one clock.

    A schedule with a ``clock`` attribute (a callable returning POSIX seconds, as a
    :class:`~databay.calendar.Calendar` has) is on the wall clock; one without is on
    whatever clock its caller uses.
    """

    def first_due(self, now: float, immediate: bool) -> float:
        """The first due time of a link scheduled at ``now`` (``now`` itself when it is to
        transfer ``immediate`` ly)."""
        ...

    def next_due(self, due: float, now: float) -> float:
        """The due time following ``due`` that is later than ``now``: due times that
        passed meanwhile are skipped (coalesced into the one running now)."""
        ...


class IntervalGrid:
    """Due every ``seconds``, on the grid ``first + k * seconds``: lateness never accumulates.

    :raises ValueError: ``seconds`` is not positive.
    """

    __slots__ = ("seconds",)

    def __init__(self, seconds: float):
        if not seconds > 0:
            raise ValueError(f"an interval grid needs a positive interval, found: {seconds!r}")
        self.seconds = seconds

    def first_due(self, now: float, immediate: bool) -> float:
        return now if immediate else now + self.seconds

    def next_due(self, due: float, now: float) -> float:
        following = due + self.seconds
        if following <= now:  # missed whole intervals
            following = due + (math.floor((now - due) / self.seconds) + 1) * self.seconds
        return following

    def __repr__(self) -> str:
        return f"IntervalGrid({self.seconds!r})"


def schedule_of(link: Any) -> Schedule:
    """The schedule of ``link``: an :class:`IntervalGrid` of its interval, or the schedule
    (a :class:`~databay.calendar.Calendar`) it was given as its ``interval``.

    :raises ValueError: its interval is not positive (naming the link).
    """
    interval = link.interval
    if not hasattr(interval, "total_seconds"):
        return interval  # a schedule object: LinkSettings accepts nothing else
    seconds = float(interval.total_seconds())
    if not seconds > 0:
        raise ValueError(f"cannot schedule {link!r}: its interval is {interval}, and a planner schedules only "
                         f"links with a positive interval (transfer it by hand with link.transfer())")
    return IntervalGrid(seconds)


def due_times(schedule: Schedule, start: float, count: int, immediate: bool = False) -> list[float]:
    """The ``count`` first due times of ``schedule`` for a link scheduled at ``start``
    (with ``immediate``, ``start`` is the first). A schedule that ends (returns infinity)
    gives fewer."""
    times: list[float] = []
    if count <= 0:
        return times
    due = schedule.first_due(start, immediate)
    while due != math.inf and len(times) < count:
        times.append(due)
        due = schedule.next_due(due, due)
    return times
