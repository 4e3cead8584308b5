"""Link intervals: a number of seconds, or a duration such as ``"250ms"`` or ``"1h30m"``.

Units: ``ms``, ``s``, ``m``, ``h``, ``d``. Several may follow each other from the largest
to the smallest (``"1h30m"``, ``"1m30s"``, ``"2d12h"``), each at most once; numbers may
have decimals (``"1.5s"``). A string holding only a number (``"5"``, as an environment
variable would give) is seconds. Intervals are from 1 ms (:data:`SHORTEST`) to 366 days
(:data:`LONGEST`).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from databay.printable import short_repr

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

SHORTEST = timedelta(milliseconds=1)
"""The shortest interval: below it a link would do nothing but transfer."""
LONGEST = timedelta(days=366)
"""The longest interval (a yearly transfer); longer ones overflow the planners' clocks."""

EXPECTED = "seconds as a number, or a duration like '250ms', '5s', '10m', '1h', '1d' or '1h30m'"


class IntervalError(ValueError):
    """A value that is not an interval."""


def parse_interval(value: Any) -> timedelta:
    """``value`` (seconds as a number, or a duration string) as a timedelta.

    :raises IntervalError: not an interval, not positive, or out of
        :data:`SHORTEST`...:data:`LONGEST`.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = value if isinstance(value, float) else float(min(value, 2 ** 63))  # float(10**400) overflows
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise IntervalError(f"{short_repr(value, 40)} is not an interval (expected {EXPECTED})")
    if not seconds > 0 or seconds == float("inf"):
        raise IntervalError(f"an interval must be positive and finite, not {short_repr(value, 40)}")
    if seconds < SHORTEST.total_seconds():
        raise IntervalError(f"an interval must be at least 1 ms, not {short_repr(value, 40)}")
    if seconds > LONGEST.total_seconds():
        raise IntervalError(f"an interval must be at most {LONGEST.days} days, not {short_repr(value, 40)}")
    return timedelta(seconds=seconds)


def _parse_text(value: str) -> float:
    text = value.strip().lower()
    if _NUMBER.fullmatch(text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise IntervalError(f"{short_repr(value, 40)} is not an interval (expected {EXPECTED})")
    units = [unit for _, unit in parts]
    order = list(_UNITS)
    if any(order.index(a) >= order.index(b) for a, b in zip(units, units[1:])):
        raise IntervalError(f"{short_repr(value, 40)} is not an interval (give units from largest to smallest, each once)")
    return sum(float(number) * _UNITS[unit] for number, unit in parts)


def format_interval(seconds: float) -> str:
    """``seconds`` the way a pipeline writes it: ``250ms``, ``5s``, ``1h30m``, ``1.5s``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts = []
    rest = seconds
    for unit in ("d", "h", "m"):
        count = int(rest // _UNITS[unit])
        if count:
            parts.append(f"{count}{unit}")
            rest -= count * _UNITS[unit]
    if rest > 1e-9 or not parts:
        parts.append(f"{round(rest, 3):g}s")
    return "".join(parts)


def schedule_text(interval: Any) -> str:
    """A link's ``interval`` for people: ``every 5s``, or its schedule's own words
    (``every weekday at 00:00 (Europe/Amsterdam)``)."""
    if isinstance(interval, timedelta):
        return f"every {format_interval(interval.total_seconds())}"
    return str(interval)
