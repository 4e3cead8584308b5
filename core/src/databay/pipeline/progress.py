"""What each link of a running pipeline has done: an in-process transfer observer.

:class:`ProgressTracker` keeps a :class:`LinkProgress` per link from the engine's
observer hooks (see :mod:`databay.observers`); the command line's live view and its log
lines read it. It also keeps the totals of all links and the order in which links last
transferred, updated at each transfer, so that a reader can show a summary and the links
worth showing without going through every link (a pipeline may have thousands).
"""

from __future__ import annotations

import datetime
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from databay.hookspecs import hookimpl
from databay.pipeline.intervals import format_interval
from databay.schedules import IntervalGrid, Schedule, schedule_of
from databay.timezones import local_zone

if TYPE_CHECKING:
    from databay.link import Link
    from databay.pipeline.model import Pipeline
    from databay.transfer import TransferStats
    from databay.update import Update


@dataclass
class LinkProgress:
    """What one link has done so far. Times are ``time.time()`` seconds.

    :param schedule: the link's :class:`~databay.schedules.Schedule`.
    :param schedule_text: how it reads: ``5s``, ``every weekday at 00:00 (Europe/Amsterdam)``.
    :param timezone: the zone its times are shown in (a calendar's, else the machine's).
    """

    label: str
    tags: list[str]
    schedule: Schedule
    schedule_text: str
    timezone: datetime.tzinfo
    transfers: int = 0
    failures: int = 0
    records_pulled: int = 0
    records_pushed: int = 0
    last_duration: float | None = None
    last_error: str | None = None
    running: bool = False
    first_started: float | None = None
    first_due: float | None = None

    @property
    def interval(self) -> float | None:
        """The link's interval in seconds (``None`` for a link on a calendar)."""
        return self.schedule.seconds if isinstance(self.schedule, IntervalGrid) else None

    def next_transfer(self, now: float) -> float | None:
        """When the next transfer is due, by the link's schedule: for an interval, on the
        grid ``first start + k x interval``, where planners that keep to the grid start it;
        for a calendar, its next time. Before the first transfer: :attr:`first_due`.

        :meth:`ProgressTracker.next_due` asks the planner first, which knows.
        """
        if self.first_started is None:
            return self.first_due
        if isinstance(self.schedule, IntervalGrid):
            return self.schedule.next_due(self.first_started, max(now, self.first_started))
        return self.schedule.next_due(now, now)


@dataclass
class Totals:
    """What all the links of a pipeline have done so far."""

    transfers: int = 0
    failures: int = 0
    records_pulled: int = 0
    records_pushed: int = 0
    running: int = 0
    failing: int = 0
    """Links whose last transfer failed."""


Listener = Callable[[str, LinkProgress, Any], None]
"""``listener(event, progress, detail)``: ``event`` is ``"finished"`` (``detail`` the
:class:`~databay.transfer.TransferStats`) or ``"failed"`` (``detail`` the exception)."""


class ProgressTracker:
    """Follows the transfers of ``pipeline``'s links while registered (a context manager).

    :param pipeline: the pipeline whose links to follow (other links are ignored).
    :param listener: called after each finished or failed transfer, on the thread that ran it.
    """

    def __init__(self, pipeline: Pipeline, listener: Listener | None = None):
        self._pipeline = pipeline
        self._by_link: dict[int, LinkProgress] = {id(link): _progress(pipeline, link) for link in pipeline.links}
        self._link_of = {id(self._by_link[id(link)]): link for link in pipeline.links}
        self.links = list(self._by_link.values())
        self.totals = Totals()
        self._listener = listener
        # Links by their last transfer, the latest last; those whose last transfer failed,
        # by that failure. The hooks update them while a reader (another thread) reads.
        self._recent: OrderedDict[int, LinkProgress] = OrderedDict()
        self._failing: OrderedDict[int, LinkProgress] = OrderedDict()
        self._lock = threading.Lock()

    def __enter__(self) -> ProgressTracker:
        from databay.observers import add_observer

        now = time.time()
        immediately = getattr(self._pipeline.planner, "immediate_transfer", True)
        for link in self._pipeline.links:
            progress = self._by_link[id(link)]
            progress.first_due = progress.schedule.first_due(now, immediately and link.immediate_transfer)
        add_observer(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        from databay.observers import remove_observer

        remove_observer(self)

    def next_due(self, progress: LinkProgress, now: float) -> float | None:
        """When ``progress``'s link is next due (``time.time()`` seconds): as its planner
        says, when the planner tells (``next_due_at``), else by its schedule."""
        next_due_at = getattr(self._pipeline.planner, "next_due_at", None)
        if next_due_at is not None:
            link = self._link_of.get(id(progress))
            try:
                due = next_due_at(link) if link is not None else None
            except Exception:  # noqa: BLE001 - the view shows the estimate instead
                due = None
            if due is not None:
                return due.timestamp()
        return progress.next_transfer(now)

    @property
    def failures(self) -> int:
        """Failed transfers of all links."""
        return self.totals.failures

    def notable(self, count: int) -> list[LinkProgress]:
        """At most ``count`` links worth showing: those whose last transfer failed, the latest
        failure first, then the others that transferred most recently. Costs ``O(count)``."""
        chosen: list[LinkProgress] = []
        with self._lock:
            for ordered in (self._failing, self._recent):
                for key in reversed(ordered):
                    if len(chosen) == count:
                        return chosen
                    progress = ordered[key]
                    if ordered is self._failing or key not in self._failing:
                        chosen.append(progress)
        return chosen

    @hookimpl
    def databay_transfer_started(self, link: Link, update: Update) -> None:
        progress = self._by_link.get(id(link))
        if progress is not None:
            with self._lock:
                if not progress.running:
                    progress.running = True
                    self.totals.running += 1
                if progress.first_started is None:
                    progress.first_started = time.time()

    @hookimpl
    def databay_transfer_finished(self, link: Link, update: Update, stats: TransferStats) -> None:
        self._ended(link, "finished", stats, self._count_finished)

    @hookimpl
    def databay_transfer_failed(self, link: Link, update: Update, exception: Exception) -> None:
        self._ended(link, "failed", exception, self._count_failed)

    def _ended(self, link: Link, event: str, detail: Any,
               count: Callable[[int, LinkProgress, Any], None]) -> None:
        """Count a transfer of ``link`` that ended (``count`` adds what is particular to
        ``event``, under the lock), then tell the listener."""
        key = id(link)
        progress = self._by_link.get(key)
        if progress is None:
            return
        with self._lock:
            if progress.running:
                progress.running = False
                self.totals.running -= 1
            progress.transfers += 1
            self.totals.transfers += 1
            self._recent[key] = progress
            self._recent.move_to_end(key)
            count(key, progress, detail)
        if self._listener is not None:
            self._listener(event, progress, detail)

    def _count_finished(self, key: int, progress: LinkProgress, stats: TransferStats) -> None:
        progress.records_pulled += stats.records_pulled
        progress.records_pushed += stats.records_pushed
        progress.last_duration = stats.duration
        totals = self.totals
        totals.records_pulled += stats.records_pulled
        totals.records_pushed += stats.records_pushed
        if self._failing.pop(key, None) is not None:
            totals.failing -= 1

    def _count_failed(self, key: int, progress: LinkProgress, exception: Exception) -> None:
        progress.failures += 1
        progress.last_error = f"{type(exception).__name__}: {exception}"
        self.totals.failures += 1
        if key not in self._failing:
            self.totals.failing += 1
        self._failing[key] = progress
        self._failing.move_to_end(key)


def _progress(pipeline: Pipeline, link: Link) -> LinkProgress:
    schedule = schedule_of(link)
    if isinstance(schedule, IntervalGrid):
        return LinkProgress(pipeline.label(link), list(link.tags), schedule, format_interval(schedule.seconds),
                            local_zone())
    zone = getattr(schedule, "timezone", None)
    return LinkProgress(pipeline.label(link), list(link.tags), schedule, str(schedule),
                        zone if isinstance(zone, datetime.tzinfo) else local_zone())
