"""A wall clock for tests: :class:`FakeClock`."""

from __future__ import annotations

import datetime
import threading
import time

__all__ = ["FakeClock"]


class FakeClock:
    """A wall clock that reads ``start`` now and runs on at real speed; :meth:`advance`
    and :meth:`set` make it jump (as a clock set by hand, or a machine waking from sleep).

    Give it to a :class:`~databay.calendar.Calendar` (``Calendar(..., clock=FakeClock(...))``)
    to have a planner run the calendar as if it were ``start``, without waiting for it.
    Calling it gives POSIX seconds, like :func:`time.time`.

    :param start: the time it reads now: an aware datetime, or POSIX seconds.
    """

    def __init__(self, start: datetime.datetime | float):
        self._lock = threading.Lock()
        self._origin = time.monotonic()
        self._start = _seconds(start)

    def __call__(self) -> float:
        with self._lock:
            return self._start + (time.monotonic() - self._origin)

    def at(self, monotonic: float) -> float:
        """What it read at ``time.monotonic()`` time ``monotonic`` (since its last jump)."""
        with self._lock:
            return self._start + (monotonic - self._origin)

    def now(self, tz: datetime.tzinfo | None = datetime.UTC) -> datetime.datetime:
        """What it reads, as an aware datetime in ``tz``."""
        return datetime.datetime.fromtimestamp(self(), tz)

    def advance(self, seconds: float) -> None:
        """Jump ``seconds`` ahead (back, when negative)."""
        with self._lock:
            self._start += seconds

    def set(self, moment: datetime.datetime | float) -> None:
        """Read ``moment`` now, and run on from there."""
        with self._lock:
            self._origin, self._start = time.monotonic(), _seconds(moment)

    def __repr__(self) -> str:
        return f"FakeClock({self.now().isoformat()})"


def _seconds(moment: datetime.datetime | float) -> float:
    if isinstance(moment, datetime.datetime):
        if moment.tzinfo is None:
            raise ValueError(f"FakeClock needs an aware datetime (with tzinfo), found: {moment!r}")
        return moment.timestamp()
    return float(moment)
