"""The scheduler: one leader at a time sends each due slot of each link as a Celery task.

Every scheduler process of a pipeline runs :meth:`Scheduler.run`. One of them holds the
leader lock (redis-py's ``Lock``, with an expiry it renews every third of it); the others
try to take it every ``poll_seconds``. So when the leader dies, a standby leads within
``leader_seconds + poll_seconds``.

The leader keeps each link's next due time, computed only by the link's schedule
(:func:`databay.schedules.schedule_of`: an interval's grid, a
:class:`~databay.calendar.Calendar`, a cron schedule; the local planners' very objects),
on Unix time: the first slot of a link never scheduled before comes from ``first_due``
(now, for an immediate transfer), every later one from ``next_due``. So a link is due on
the same instants as with a local planner, daylight saving time rules included, and
``databay schedule PIPELINE`` lists them. A schedule that ends (a cron ``end_date``) has
no more slots. When a slot falls due, one atomic script
(:meth:`~databay_celery.cluster.Coordinator.dispatch`) checks that this scheduler still
leads, that no leader handled the slot yet, and whether the link's previous task is still
queued or running: then the slot is **skipped** (counted, never queued behind it),
otherwise it is recorded and its task ``transfer(link, due)`` sent. A new leader goes on
from the last slot recorded for each link: the first slot after it (however late: missed
slots are coalesced into that one), then the grid again. No slot is ever sent twice.
"""

from __future__ import annotations

import collections
import heapq
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from databay.redaction import redact
from databay.schedules import Schedule, schedule_of
from redis.exceptions import LockError

from databay_celery.app import TASK_NAME, make_app
from databay_celery.cluster import (
    HANDLED,
    NOT_LEADING,
    SENT,
    SKIPPED,
    ClusterSettings,
    Coordinator,
    new_token,
)

__all__ = ["Scheduler"]

_LOGGER = logging.getLogger("databay.CeleryPlanner")
_BATCH = 500  # slots handled in one round trip to Redis


class Scheduler:
    """Leader election and the slot loop of one scheduler process.

    :param settings: the cluster's settings.
    :param links: returns ``{identity: link}`` of the links to schedule (asked again when
        ``version`` changes: links added or removed while running).
    :param version: returns a number that changes whenever the links do.
    :param immediate: whether a link never scheduled before transfers at once.
    :param on_skipped: called with a link and its skips so far when a slot is skipped.
    :param clock: where the time comes from, in Unix seconds (tests give a
        :class:`databay.testing.FakeClock`).
    """

    def __init__(self, settings: ClusterSettings, links: Callable[[], dict[str, Any]], version: Callable[[], int],
                 immediate: Callable[[Any], bool], on_skipped: Callable[[Any, int], None] | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self._links, self._version, self._immediate, self._on_skipped = links, version, immediate, on_skipped
        self.clock = clock
        self.coordinator = Coordinator(settings)
        self.app = make_app(settings)
        self.token = new_token()
        self.leading = False
        self.lateness: collections.deque[float] = collections.deque(maxlen=200_000)
        """Seconds between each slot's due time and its task being sent, newest last."""
        self.sent = 0
        self._skips: dict[str, int] = {}
        self._heap: list[tuple[float, str]] = []
        self._planned: dict[str, tuple[Any, Schedule]] = {}
        self._next: dict[str, float] = {}  # each link's next slot while leading, for readers in other threads
        self._seen_version = -1

    def next_slot(self, link_id: str) -> float | None:
        """The next slot of link ``link_id`` (Unix seconds) while this scheduler leads;
        ``None`` otherwise, or when its schedule has ended. Any thread."""
        return self._next.get(link_id) if self.leading else None

    def skipped(self, link_id: str) -> int:
        """How many of the link's slots this scheduler skipped (its previous task was
        still queued or running)."""
        return self._skips.get(link_id, 0)

    # -- the loop ------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Lead or stand by until ``stop`` is set; then give up the lead."""
        lock = self.coordinator.redis.lock(self.coordinator.leader_key, timeout=self.settings.leader_seconds,
                                           thread_local=False)
        renew_at = 0.0
        try:
            while not stop.is_set():
                try:
                    if not self.leading:
                        if not lock.acquire(blocking=False, token=self.token):
                            stop.wait(self.settings.poll_seconds)
                            continue
                        self.leading = True
                        renew_at = time.monotonic() + self.settings.leader_seconds / 3
                        self._plan(fresh=True)
                        _LOGGER.warning("Scheduler %s leads the pipeline '%s' (%s): %d link(s)", self.token,
                                        self.settings.name, self.settings.shown_broker, len(self._planned))
                    if time.monotonic() >= renew_at:
                        lock.extend(self.settings.leader_seconds, replace_ttl=True)
                        renew_at = time.monotonic() + self.settings.leader_seconds / 3
                    if self._version() != self._seen_version:
                        self._plan(fresh=False)
                    if not self._send_due():
                        wait = renew_at - time.monotonic()
                        if self._heap:
                            wait = min(wait, self._heap[0][0] - self.clock())
                        stop.wait(max(0.0, wait))
                except LockError:
                    _LOGGER.warning("Scheduler %s lost the lead of '%s' (its lock expired)", self.token,
                                    self.settings.name)
                    self.leading = False
                except redis.RedisError as exc:
                    _LOGGER.warning("Scheduler %s: Redis %s: %s; trying again", self.token,
                                    self.settings.shown_broker, redact(str(exc)))
                    self.leading = False
                    stop.wait(self.settings.poll_seconds)
        finally:
            self._next = {}
            if self.leading:
                self.leading = False
                try:
                    lock.release()
                except (LockError, redis.RedisError):
                    pass  # it expires by itself
            self.app.close()

    # -- planning ------------------------------------------------------------------

    def _plan(self, fresh: bool) -> None:
        """Work out each link's next due time: from Redis when taking the lead (``fresh``),
        else only for links added since."""
        self._seen_version = self._version()
        links = self._links()
        known = {} if fresh else {link_id: due for due, link_id in self._heap}
        last = self.coordinator.last_slots()
        now = self.clock()
        planned: dict[str, tuple[Any, Schedule]] = {}
        upcoming: dict[str, float] = {}
        for link_id, link in links.items():
            schedule = schedule_of(link)
            if link_id in known:
                due = known[link_id]
            elif link_id in last:
                due = schedule.next_due(last[link_id], last[link_id])  # the first slot after the last handled
            else:  # never scheduled: an immediate transfer only when the scheduler starts with it
                due = schedule.first_due(now, fresh and self._immediate(link))
            planned[link_id] = (link, schedule)
            if due != math.inf:  # its schedule ended
                upcoming[link_id] = due
        self._heap = [(due, link_id) for link_id, due in upcoming.items()]
        heapq.heapify(self._heap)
        self._planned, self._next = planned, upcoming

    def _send_due(self) -> bool:
        """Handle the slots that are due; whether there were any."""
        now = self.clock()
        due: list[tuple[float, str]] = []
        while self._heap and self._heap[0][0] <= now and len(due) < _BATCH:
            due.append(heapq.heappop(self._heap))
        if not due:
            return False
        codes = self.coordinator.dispatch(self.token, [(link_id, repr(slot)) for slot, link_id in due])
        if codes and codes[0] == NOT_LEADING:
            for entry in due:
                heapq.heappush(self._heap, entry)
            raise LockError("not the leader any more")
        for (slot, link_id), code in zip(due, codes):
            link, schedule = self._planned[link_id]
            if code == SENT:
                self._send(link_id, slot)
            elif code == SKIPPED:
                self._skipped(link_id, link)
            elif code != HANDLED:  # pragma: no cover - the script returns nothing else
                raise RuntimeError(f"unexpected dispatch code {code}")
            following = schedule.next_due(slot, self.clock())
            if following == math.inf:  # its schedule ended
                self._next.pop(link_id, None)
            else:
                self._next[link_id] = following
                heapq.heappush(self._heap, (following, link_id))
        return True

    def _send(self, link_id: str, slot: float) -> None:
        try:
            self.app.send_task(TASK_NAME, args=[link_id, slot], queue=self.settings.queue)
        except Exception as exc:  # noqa: BLE001 - the broker refused: free the link for its next slot
            _LOGGER.error("Could not send the transfer of %s due at %s: %s", link_id, slot, redact(str(exc)))
            self.coordinator.finish(link_id, repr(slot), None, None)
            return
        self.sent += 1
        self.lateness.append(self.clock() - slot)

    def _skipped(self, link_id: str, link: Any) -> None:
        count = self._skips[link_id] = self._skips.get(link_id, 0) + 1
        _LOGGER.debug("%s still queued or transferring: skipped a due transfer", link_id)
        if self._on_skipped is not None:
            self._on_skipped(link, count)
