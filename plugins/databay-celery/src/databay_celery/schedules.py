"""A link's due times for the cluster: the engine's schedule objects, on Unix time.

The scheduler computes every slot through the :class:`~databay.run.schedules.Schedule`
protocol (``first_due``, ``next_due``) and never with interval arithmetic of its own, so a
link is due on the same grid, with the same calendar rules, as with the local planners.
Slots are Unix times: they are shared by processes on several machines.
"""

from __future__ import annotations

from typing import Any

from databay.run.schedules import IntervalGrid, Schedule, interval_seconds

__all__ = ["schedule_of"]


def schedule_of(link: Any) -> Schedule:
    """The link's schedule: its own (``link.schedule``, e.g. a calendar), or its interval grid.

    :raises ValueError: a link without a schedule whose interval is not positive.
    """
    own = getattr(link, "schedule", None)
    if own is not None and callable(getattr(own, "first_due", None)) and callable(getattr(own, "next_due", None)):
        return own
    return IntervalGrid(interval_seconds(link))
