"""When a scheduled link is due: the :class:`Schedule` protocol and :class:`IntervalGrid`.

The engine asks a link's schedule for its due times on the event loop's clock
(``loop.time()``, seconds). Today every link runs on an interval grid; a calendar schedule
(due at times of day) is another implementation of the same two methods.
"""

from __future__ import annotations

import math
from typing import Any, Protocol

__all__ = ["IntervalGrid", "Schedule", "interval_seconds"]


class Schedule(Protocol):
    """A link's due times, on the loop's clock."""

    def first_due(self, now: float, immediate: bool) -> float:
        """The first due time of a link scheduled at ``now`` (``now`` itself when it is to
        transfer ``immediate`` ly)."""
        ...

    def next_due(self, due: float, now: float) -> float:
        """The due time following ``due`` that is later than ``now``: due times that
        passed meanwhile are skipped (coalesced into the one running now)."""
        ...


class IntervalGrid:
    """Due every ``seconds``, on the grid ``first + k * seconds``: lateness never accumulates."""

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


def interval_seconds(link: Any) -> float:
    """``link.interval`` in seconds, which must be positive for a planner to schedule it.

    :raises ValueError: a zero or negative interval, naming the link.
    """
    interval = link.interval
    seconds = float(interval.total_seconds())
    if not seconds > 0:
        raise ValueError(f"cannot schedule {link!r}: its interval is {interval}, and a planner schedules only "
                         f"links with a positive interval (transfer it by hand with link.transfer())")
    return seconds
