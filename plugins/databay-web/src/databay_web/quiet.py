"""Reading the dashboard between bursts: the overview, its JSON and ``/metrics`` give way to
links falling due together.

The server answers on the planner's own loop, and an answer about a thousand links takes
the loop tens of milliseconds. Built in chunks, it still adds all of them to a burst of
transfers it overlaps (the loop does both), so the last transfers of the burst start later.
So a reader calls :meth:`QuietGate.pause` before each chunk of its work: when
:data:`BURST` or more links fall due within :data:`AHEAD` seconds, or fell due and their
transfers are still ending, it waits until they are over (transfers have ended since it
fell due, then none for :data:`SETTLE` seconds while the loop kept time); otherwise it only
lets the loop run what is ready. A reader stops waiting :data:`MAX_WAIT` seconds after it
started and carries on (chunk by chunk), so an answer is never older than that plus its
building; a scrape that waits some tens of milliseconds is well within Prometheus's
timeout (10 s by default).

The due times come from the planner (``next_due``, else ``next_due_at``), read again once
the earliest has passed (at most every :data:`REFRESH` seconds), so that a poll a second
costs a read of every link's due time a second.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from typing import Any

AHEAD = 0.1
"""No chunk of a reader's work starts this many seconds or less before a burst falls due:
more than a chunk, and the answer's encoding after the last, take on a busy machine."""
BURST = 10
"""Links falling due together (within :data:`TOGETHER` seconds) that make a burst worth
waiting for: a few due links are held up by one chunk at most, a burst by all the chunks it
overlaps. Links due at times of their own (not on one grid) make no burst."""
TOGETHER = 0.001
"""Links due within this many seconds of each other fall due together (seconds)."""
SETTLE = 0.005
"""A burst is over once no transfer ended for this long (seconds)..."""
LAG = 0.005
"""... and the loop woke up from that wait at most this late (it was not busy starting transfers)."""
MAX_WAIT = 0.5
"""The most a reader waits for quiet moments, in all (seconds from its start)."""
REFRESH = 0.01
"""The due times are read again at most this often (seconds)."""
RECHECK = 1.0
"""... and at least this often, for links added or resumed meanwhile."""


class QuietGate:
    """Tells readers of ``monitor`` (a running pipeline's; ``None``: nothing runs, never
    wait) when to build their answers (see the module's docs). On the planner's loop only."""

    def __init__(self, monitor: Any):
        # Nothing to wait for where nothing runs, or where the links transfer elsewhere.
        self.monitor: Any = monitor if monitor is not None and monitor.transfers_here else None
        planner = getattr(monitor, "planner", None)
        self._next_due = _method(planner, "next_due")
        self._link_paused = _method(planner, "link_paused")
        self._dues: list[float] = []  # the links' next due times on time.monotonic(), sorted
        self._read_at = -math.inf
        self._unsettled: tuple[float, int] | None = None
        """A burst that is not known to be over: when it fell due, and how many transfers
        had ended then (-1: not known)."""
        self._quiet_since = -math.inf  # the end of the last burst seen to end

    async def pause(self, since: float) -> None:
        """Before a chunk of a reader's work that started at ``since`` (``time.monotonic()``):
        wait for a quiet moment if a burst is due or under way, unless the reader has
        waited :data:`MAX_WAIT` already; else give the loop one turn."""
        if self.monitor is not None:
            deadline = since + MAX_WAIT
            while (now := time.monotonic()) < deadline:
                burst = self._burst(now)
                if burst is None:
                    break
                if burst > now:  # falls due soon: wait for it, then for its end
                    await asyncio.sleep(min(burst, deadline) - now)
                    self._unsettled = (burst, self.monitor.ended)
                await self._settle(self.monitor, deadline)
        await asyncio.sleep(0)

    def _burst(self, now: float) -> float | None:
        """When a burst falls due within :data:`AHEAD` seconds, or when one fell due that
        has not been seen to end; ``None`` when neither."""
        self._read_dues(now)
        if self._unsettled is not None:
            return self._unsettled[0]
        dues = self._dues
        return _first_burst(dues, bisect.bisect_right(dues, now), bisect.bisect_right(dues, now + AHEAD))

    def _read_dues(self, now: float) -> None:
        """Read the due times again once the earliest has passed, noting a burst that fell
        due meanwhile and was not seen to end (unsettled)."""
        dues = self._dues
        stale = now - self._read_at >= RECHECK or (dues and dues[0] <= now)
        if not stale or now - self._read_at < REFRESH:
            return
        passed = _first_burst(dues, bisect.bisect_right(dues, self._quiet_since), bisect.bisect_right(dues, now))
        if passed is not None:
            self._unsettled = (passed, -1)
        self._dues = sorted(self._due_times())
        self._read_at = now

    def _due_times(self) -> list[float]:
        """The next due time of every link not paused on ``time.monotonic()``, where its
        planner tells."""
        monitor, next_due, link_paused = self.monitor, self._next_due, self._link_paused
        to_monotonic = time.monotonic() - time.time()
        dues = []
        for link in monitor.pipeline.links:
            if link_paused is not None and link_paused(link):
                continue
            due = None
            if next_due is not None:
                try:
                    due = next_due(link)
                except Exception:  # noqa: BLE001 - a planner's answer only times a reader
                    due = None
            if due is None:
                due_at = monitor.next_due_at(link)
                due = None if due_at is None else due_at.timestamp() + to_monotonic
            if due is not None:
                dues.append(float(due))
        return dues

    async def _settle(self, monitor: Any, deadline: float) -> None:
        """Wait until transfers ended since the burst fell due, then none for
        :data:`SETTLE` seconds while the loop kept time (or until ``deadline``): the burst
        is over."""
        assert self._unsettled is not None
        ended_then = self._unsettled[1]
        while True:
            ended, began = monitor.ended, time.monotonic()
            await asyncio.sleep(SETTLE)
            now = time.monotonic()
            if ended > ended_then and monitor.ended == ended and now - began <= SETTLE + LAG:
                self._unsettled, self._quiet_since = None, now
                return
            if now >= deadline:
                return


def _method(planner: Any, name: str) -> Any:
    method = getattr(planner, name, None)
    return method if callable(method) else None


def _first_burst(dues: list[float], low: int, high: int) -> float | None:
    """The first time by which :data:`BURST` of ``dues[low:high]`` (sorted) have fallen due
    within :data:`TOGETHER` seconds of each other; ``None`` when they never do."""
    for start in range(low, high - BURST + 1):
        if dues[start + BURST - 1] - dues[start] <= TOGETHER:
            return dues[start + BURST - 1]
    return None
