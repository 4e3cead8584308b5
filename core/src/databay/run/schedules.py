"""How the engine times a link's :class:`~databay.schedules.Schedule`.

The schedules themselves are public, in :mod:`databay.schedules`. The engine arms due
times on its event loop's clock (``loop.time()``, monotonic):

- an :class:`~databay.schedules.IntervalGrid` is used on that clock as it is;
- a schedule on the wall clock (one with a ``clock``, such as a
  :class:`~databay.calendar.Calendar`) keeps its due times in POSIX seconds. Each is
  mapped onto the loop's clock from a fresh reading of the wall clock
  (:func:`loop_wake_up`), and the engine wakes at least every :data:`WALL_CLOCK_RECHECK`
  seconds to read it again: if the wall clock jumped (set by hand, corrected in a step)
  or stood still for the loop (a suspended machine: the monotonic clock stops, the wall
  clock does not), the due time is re-anchored, and a time that passed meanwhile runs at
  once, coalesced with any other it missed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["WALL_CLOCK_RECHECK", "loop_wake_up", "wall_clock_of"]

WALL_CLOCK_RECHECK = 30.0
"""The longest the engine waits (seconds, on its loop's clock) without reading the wall
clock again, for a link on a wall-clock schedule: how late such a link can be after the
machine wakes from sleep or its clock jumps forward."""


def wall_clock_of(schedule: Any) -> Callable[[], float] | None:
    """The wall clock ``schedule`` is on (a callable giving POSIX seconds), or ``None``
    for a schedule on the caller's clock (an interval grid)."""
    clock = getattr(schedule, "clock", None)
    return clock if callable(clock) else None


def loop_wake_up(wall_due: float, wall_now: float, loop_now: float) -> float:
    """When to wake on the loop's clock (``loop_now`` there is ``wall_now`` on the wall
    clock) for ``wall_due``: at it, or after :data:`WALL_CLOCK_RECHECK` seconds to read
    the wall clock again, whichever comes first."""
    return loop_now + min(max(wall_due - wall_now, 0.0), WALL_CLOCK_RECHECK)

