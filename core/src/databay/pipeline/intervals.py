"""Link intervals: a number of seconds, or a duration such as ``"250ms"`` or ``"1h30m"``.

Units: ``ms``, ``s``, ``m``, ``h``, ``d``. Several may follow each other from the largest
to the smallest (``"1h30m"``, ``"1m30s"``, ``"2d12h"``), each at most once; numbers may
have decimals (``"1.5s"``). A string holding only a number (``"5"``, as an environment
variable would give) is seconds. Intervals must be positive.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|d|h|m|s)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")

EXPECTED = "seconds as a number, or a duration like '250ms', '5s', '10m', '1h', '1d' or '1h30m'"


class IntervalError(ValueError):
    """A value that is not an interval."""


def parse_interval(value: Any) -> timedelta:
    """``value`` (seconds as a number, or a duration string) as a positive timedelta.

    :raises IntervalError: not an interval, or not positive.
    """
    if isinstance(value, timedelta):
        seconds = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_text(value)
    else:
        raise IntervalError(f"{value!r} is not an interval (expected {EXPECTED})")
    if not seconds > 0 or seconds == float("inf"):
        raise IntervalError(f"an interval must be positive and finite, not {value!r}")
    return timedelta(seconds=seconds)


def _parse_text(value: str) -> float:
    text = value.strip().lower()
    if _NUMBER.fullmatch(text):
        return float(text)
    parts = _PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise IntervalError(f"{value!r} is not an interval (expected {EXPECTED})")
    units = [unit for _, unit in parts]
    order = list(_UNITS)
    if any(order.index(a) >= order.index(b) for a, b in zip(units, units[1:])):
        raise IntervalError(f"{value!r} is not an interval (give units from largest to smallest, each once)")
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
