"""What the dashboard knows about a running pipeline, from the engine's observer hooks.

:class:`Monitor` is an observer (:func:`databay.observers.add_observer`): each hook updates
a :class:`LinkWatch` under one lock, with a few additions and no I/O, so that watching costs
a transfer next to nothing. A finished transfer, the one hook every transfer calls, only
notes its raw facts; they are folded into the links' histories and counters when anything
reads the monitor, on a timer between bursts of transfers, and when many are waiting (see
:meth:`Monitor.fold`). Readers (the web handlers, the metrics collector) take copies.
It also keeps the recent log records (:class:`LogBook`). Every text that comes from outside
(tags, error messages, tracebacks, log messages) is stored redacted and with its control
characters escaped (:mod:`databay.printable`); HTML escaping is the templates' job.
"""

from __future__ import annotations

import bisect
import logging
import math
import threading
import time
import traceback
from array import array
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from databay import hookimpl
from databay.printable import printable_line, printable_lines
from databay.schedules import IntervalGrid, Schedule, schedule_of

RECENT_TRANSFERS = 50
RECENT_ERRORS = 20
LOG_RECORDS = 1000
DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
LATENESS_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0)
DUE_STEPS = 1000
"""The most due times of a link's schedule stepped over to find the one a transfer ran for
(due times that passed while the link was paused); beyond, its lateness is unknown."""
PENDING_LIMIT = 10_000
"""The most finished transfers noted and not yet folded: one more folds them all."""
FOLD_EVERY = 0.25
"""How often (seconds) the planner's loop folds the finished transfers noted meanwhile
(put off once while they are still coming: see :meth:`Monitor.start_folding`)."""
CLOCK_SLACK = 0.001
"""How far before its due time a transfer may seem to start (seconds), from the rounding of
moving a due time between clocks: such a transfer is on time, not one started by hand."""


class Buckets:
    """A histogram: counts per upper bound (cumulated when read), their sum and count."""

    __slots__ = ("bounds", "counts", "sum", "count")

    def __init__(self, bounds: tuple[float, ...]):
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last: above every bound (+Inf)
        self.sum = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.bounds, value)] += 1
        self.sum += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        """``(upper bound, observations up to it)``, ending with ``+Inf``, as Prometheus wants."""
        total, result = 0, []
        for bound, count in zip([*map(str, self.bounds), "+Inf"], self.counts):
            total += count
            result.append((bound, total))
        return result


@dataclass
class TransferRecord:
    """One transfer of a link, as the link's page shows it. Times are Unix seconds."""

    update: str
    ended: float
    started: float | None  # known for transfers that finished (their end minus their duration)
    outcome: str  # ok, failed
    duration: float | None = None
    records_in: int | None = None
    records_out: int | None = None
    dead_lettered: int = 0
    lateness: float | None = None
    error: str | None = None
    traceback: str | None = None


class Ring:
    """The last ``size`` transfers of a link, as numbers in arrays.

    Arrays of numbers are no containers for the garbage collector: a thousand links keeping
    fifty transfers each add nothing to what every collection walks (tuples of objects
    would add a hundred thousand, and with them pauses that make transfers start late).
    """

    __slots__ = ("size", "count", "numbers", "ints", "floats")
    # per transfer: its number; pulled, pushed, dead-lettered, failed (1) or not (0);
    # ended (Unix seconds), duration, lateness (NaN: unknown)
    INTS, FLOATS = 4, 3

    def __init__(self, size: int):
        self.size, self.count = size, 0
        self.numbers = array("q", bytes(8 * size))
        self.ints = array("q", bytes(8 * size * self.INTS))
        self.floats = array("d", bytes(8 * size * self.FLOATS))

    def append(self, number: int, pulled: int, pushed: int, dead: int, failed: int, ended: float, duration: float,
               lateness: float) -> None:
        slot = self.count % self.size
        self.count += 1
        self.numbers[slot] = number
        i, f, ints, floats = 4 * slot, 3 * slot, self.ints, self.floats
        ints[i], ints[i + 1], ints[i + 2], ints[i + 3] = pulled, pushed, dead, failed
        floats[f], floats[f + 1], floats[f + 2] = ended, duration, lateness

    def last(self, count: int | None = None) -> list[tuple[int, list[int], list[float]]]:
        """The last ``count`` (all kept) transfers, the latest first: ``(number, ints, floats)``."""
        kept = min(self.count, self.size if count is None else min(count, self.size))
        rows = []
        for age in range(1, kept + 1):
            slot = (self.count - age) % self.size
            rows.append((self.numbers[slot], list(self.ints[4 * slot:4 * slot + 4]),
                         list(self.floats[3 * slot:3 * slot + 3])))
        return rows


def _unknown(value: float) -> float | None:
    return None if math.isnan(value) else value


@dataclass
class LinkWatch:
    """What one link did while watched."""

    index: int
    name: str
    label: str
    tags: list[str]
    transfers: int = 0
    failures: int = 0
    records_in: int = 0
    records_out: int = 0
    retries: int = 0
    skipped: int = 0
    dead_lettered: int = 0
    failing_since: float | None = None
    recent: Ring = field(default_factory=lambda: Ring(RECENT_TRANSFERS))
    errors: deque[tuple[int, float, str, str | None]] = field(default_factory=lambda: deque(maxlen=RECENT_ERRORS))
    """The last failures: ``(transfer number, ended, error, traceback)`` (failures are rare)."""
    expected_due: float | None = None  # the next due time on the link's clock (see LinkClock), when known
    by_hand: int = 0  # transfers asked for from the dashboard, not yet ended

    def summary(self) -> dict[str, Any]:
        """Plain data for the overview (no history)."""
        last = self.history(1)
        return {"index": self.index, "name": self.name, "label": self.label, "tags": list(self.tags),
                "transfers": self.transfers, "failures": self.failures, "records_in": self.records_in,
                "records_out": self.records_out, "retries": self.retries, "skipped": self.skipped,
                "dead_lettered": self.dead_lettered, "failing_since": self.failing_since,
                "last": last[0] if last else None}

    def history(self, count: int | None = None) -> list[dict[str, Any]]:
        """The last ``count`` (all kept) transfers as :class:`TransferRecord` data, the latest first."""
        errors = {number: (error, trace) for number, _, error, trace in self.errors}
        records = []
        for number, (pulled, pushed, dead, failed), (ended, duration, lateness) in self.recent.last(count):
            error, trace = errors.get(number, ("(failed)", None)) if failed else (None, None)
            known = _unknown(duration)
            # A fresh record's fields as they are (all immutable): dataclasses.asdict would
            # deep-copy each, a third of the cost of an overview of a thousand links.
            records.append(vars(TransferRecord(
                self.update_name(number), ended, ended - known if known is not None else None,
                "failed" if failed else "ok", known, None if failed else pulled, None if failed else pushed,
                dead, _unknown(lateness), error, trace)))
        return records

    def update_name(self, number: int) -> str:
        """How the link's transfer ``number`` is named (its :class:`databay.Update`)."""
        return f"{'.'.join(self.tags)}.{number}" if self.tags else str(number)


def link_name(tags: list[str], place: str) -> str:
    """How a link is named in metrics and the API: its tags joined by dots, else its place."""
    return printable_line(".".join(tags)) if tags else place


class LinkClock:
    """How the lateness of a link's transfers is measured: on its schedule's clock.

    A link on a calendar or a cron line is due on the wall clock its schedule reads (its
    ``clock``: :func:`time.time`, or a fake one in tests), and its planner's
    ``next_due_at`` is on that clock; a link on an interval, on a grid of elapsed seconds:
    measured on :func:`time.monotonic`, so that a wall clock set by hand makes no transfer
    late.
    """

    __slots__ = ("schedule", "clock", "on_wall")

    def __init__(self, link: Any):
        try:
            self.schedule: Schedule | None = schedule_of(link)
        except ValueError:  # an interval that is not positive: transferred by hand only
            self.schedule = None
        own = getattr(self.schedule, "clock", None)
        self.on_wall = callable(own)
        self.clock: Any = own if self.on_wall else time.monotonic

    def reading(self, due_at: Any) -> float:
        """``due_at`` (an aware datetime, as ``next_due_at`` gives) on this clock."""
        stamp = due_at.timestamp()
        return stamp if self.on_wall else time.monotonic() + (stamp - time.time())

    def due_of(self, expected: float, start: float) -> float | None:
        """The due time a transfer that started at ``start`` ran for: the last due time of
        the schedule from ``expected`` on that is not after ``start`` (later than
        ``expected`` when due times passed while the link was paused); ``None`` when it
        started before ``expected`` (by hand, or the clock was set back) or when it is too
        many due times on."""
        if start < expected - CLOCK_SLACK:
            return None
        schedule = self.schedule
        if schedule is None:
            return expected
        if isinstance(schedule, IntervalGrid):
            return schedule.next_due(expected, start) - schedule.seconds
        due = expected
        for _ in range(DUE_STEPS):
            following = schedule.next_due(due, due)
            if following > start:
                return due
            due = following
        return None


class Monitor:
    """Watches the transfers of ``pipeline``'s links (an observer; see the module's docs).

    A hook keeps what a transfer did as a tuple and adds a few numbers; texts are made when
    read. The lateness of a transfer is its start (its end minus its duration) minus the due
    time it ran for: the one its planner gave when the link's previous transfer ended
    (``next_due_at``), or the planner's start for its first, moved on along the link's
    schedule past the due times that went by without a transfer (a paused link). It is
    measured on the link's clock (:class:`LinkClock`). The transfer's start is not watched
    (``databay_transfer_started``), which would cost every transfer one more call.

    :param tracebacks: keep the tracebacks of failures (``--debug``), not only their messages.
    """

    def __init__(self, pipeline: Any, tracebacks: bool = False):
        self.pipeline = pipeline
        self.planner = pipeline.planner
        self.tracebacks = tracebacks
        self.started = time.time()
        self._lock = threading.Lock()
        # What is kept per link is in lists by link index; a hook finds its link's index by id.
        self.links = [LinkWatch(index, link_name(spec.tags, spec.place), printable_line(spec.label),
                                [printable_line(tag) for tag in spec.tags])
                      for index, spec in enumerate(pipeline.spec.links)]
        self._clocks = [LinkClock(link) for link in pipeline.links]
        self._index_of = {id(link): index for index, link in enumerate(pipeline.links)}
        self._pending: deque[tuple[int, int, int, int, int, float, float, float, float | None]] = deque()
        """Finished transfers not yet folded: ``(link index, transfer number, pulled, pushed,
        dead-lettered, duration, its end on the link's clock, its end (Unix seconds), the
        link's next due time on its clock)``; numbers only, which the garbage collector
        stops tracking."""
        self._fold_timer: Any = None
        self.ended = 0
        """Transfers that ended (finished or failed) so far: while it moves, transfers are
        running (see :class:`databay_web.quiet.QuietGate`)."""
        self.durations = Buckets(DURATION_BUCKETS)
        self.lateness = Buckets(LATENESS_BUCKETS)
        next_due_at = getattr(self.planner, "next_due_at", None)
        self._next_due_at = next_due_at if callable(next_due_at) else None
        next_due = getattr(self.planner, "next_due", None)
        self._next_due = next_due if callable(next_due) else None  # on time.monotonic(), cheaper
        self.transfers_here = bool(getattr(self.planner, "transfers_here", True))
        """Whether the planner transfers the links in this process (the Celery planner's
        scheduler does not: its workers do)."""
        self.log = LogBook(self)

    # -- reading -------------------------------------------------------------------

    def link(self, index: int) -> Any:
        """The pipeline's link number ``index``."""
        return self.pipeline.links[index]

    def snapshot(self, indexes: range | None = None) -> list[dict[str, Any]]:
        """The summaries of the links ``indexes`` (all by default), copied under the lock."""
        with self._lock:
            self._fold()
            return [self.links[index].summary() for index in (indexes or range(len(self.links)))]

    def counters(self) -> list[tuple[str, int, int, int, int, int, int, int]]:
        """``(name, transfers, failures, records in, records out, retries, skipped, dead-lettered)``
        per link, for metrics."""
        with self._lock:
            self._fold()
            return [(w.name, w.transfers, w.failures, w.records_in, w.records_out, w.retries, w.skipped,
                     w.dead_lettered) for w in self.links]

    def history(self, index: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """``(recent transfers, recent failures)`` of link ``index``, the latest first."""
        with self._lock:
            self._fold()
            watch = self.links[index]
            recent = watch.history()
            errors = [{"update": watch.update_name(number), "ended": ended, "error": error, "traceback": trace}
                      for number, ended, error, trace in reversed(watch.errors)]
        return recent, errors

    def histograms(self) -> tuple[list[tuple[str, int]], float, list[tuple[str, int]], float]:
        """``(durations, their sum, lateness, its sum)`` of all transfers, for metrics."""
        with self._lock:
            self._fold()
            return (self.durations.cumulative(), self.durations.sum, self.lateness.cumulative(),
                    self.lateness.sum)

    def failing_longest(self) -> tuple[LinkWatch, float] | None:
        """The link failing for the longest time and for how many seconds, if one fails."""
        now = time.time()
        with self._lock:
            self._fold()
            failing = [w for w in self.links if w.failing_since is not None]
            if not failing:
                return None
            watch = min(failing, key=lambda w: w.failing_since or now)
            return watch, now - (watch.failing_since or now)

    def by_hand(self, index: int) -> None:
        """The dashboard is about to transfer link ``index`` by hand: no lateness for it."""
        with self._lock:
            self._fold()
            self.links[index].by_hand += 1

    def next_due_at(self, link: Any) -> Any:
        """When ``link`` is next due, as its planner tells (``next_due_at``: an aware
        datetime), or ``None``."""
        if self._next_due_at is None:
            return None
        try:
            return self._next_due_at(link)
        except Exception:  # noqa: BLE001 - a planner's answer is only shown, never needed
            return None

    def _expected(self, link: Any, clock: LinkClock) -> float | None:
        if self._next_due is not None and not clock.on_wall:
            try:
                due = self._next_due(link)
            except Exception:  # noqa: BLE001 - as for next_due_at
                due = None
            if due is not None:
                return float(due)
        due_at = self.next_due_at(link)
        return None if due_at is None else clock.reading(due_at)

    # -- folding finished transfers ------------------------------------------------

    def fold(self) -> None:
        """Fold the finished transfers noted so far into the links' histories, counters
        and histograms (reading the monitor does it first; so does a timer, see
        :meth:`start_folding`)."""
        with self._lock:
            self._fold()

    def _fold(self) -> None:
        """:meth:`fold`, the lock held."""
        pending = self._pending
        while pending:
            index, number, pulled, pushed, dead, duration, end, ended, due = pending.popleft()
            watch = self.links[index]
            start = end - duration
            lateness = None
            if watch.by_hand:
                watch.by_hand -= 1
            elif watch.expected_due is not None:
                ran_for = self._clocks[index].due_of(watch.expected_due, start)
                if ran_for is not None:
                    lateness = max(0.0, start - ran_for)
                    self.lateness.observe(lateness)
            watch.expected_due = due
            self.durations.observe(duration)
            watch.recent.append(number, pulled, pushed, dead, 0, ended, duration,
                                math.nan if lateness is None else lateness)
            watch.transfers += 1
            watch.records_in += pulled
            watch.records_out += pushed
            watch.failing_since = None

    def start_folding(self, loop: Any) -> None:
        """Fold on ``loop`` (the planner's) every :data:`FOLD_EVERY` seconds: put off once
        while transfers are still finishing (so that the rest of a burst of transfers due
        together is not slowed by folding the first ones), never twice in a row."""
        put_off = False

        def tick() -> None:
            nonlocal put_off
            if self._pending and put_off:
                self.fold()
                put_off = False
            else:
                put_off = bool(self._pending)
            self._fold_timer = loop.call_later(FOLD_EVERY, tick)

        self.stop_folding()
        self._fold_timer = loop.call_later(FOLD_EVERY, tick)

    def stop_folding(self) -> None:
        """Stop folding on a timer, and fold what is left."""
        if self._fold_timer is not None:
            self._fold_timer.cancel()
            self._fold_timer = None
        self.fold()

    # -- the hooks (the transfer waits for them: kept to a few additions) -------------

    @hookimpl
    def databay_planner_started(self, planner: Any) -> None:
        """The planner starts: its start is every link's first due time (an immediate
        transfer's; one due later is found along the link's schedule)."""
        if planner is not self.planner:
            return
        with self._lock:
            self._fold()
            for watch, clock in zip(self.links, self._clocks):
                watch.expected_due = clock.clock()

    @hookimpl
    def databay_transfer_finished(self, link: Any, update: Any, stats: Any) -> None:
        """Only note the facts: every transfer of a burst due together waits for this."""
        index = self._index_of.get(id(link))
        if index is None:
            return
        clock = self._clocks[index]
        self.ended += 1
        self._pending.append((index, update.transfer_number, stats.records_pulled, stats.records_pushed,
                              stats.dead_lettered, stats.duration, clock.clock(), time.time(),
                              self._expected(link, clock)))
        if len(self._pending) >= PENDING_LIMIT:
            self.fold()

    @hookimpl
    def databay_transfer_failed(self, link: Any, update: Any, exception: BaseException) -> None:
        index = self._index_of.get(id(link))
        if index is None:
            return
        self.ended += 1
        due = self._expected(link, self._clocks[index])
        text = printable_line(f"{type(exception).__name__}: {exception}")
        trace = printable_lines("".join(traceback.format_exception(exception))) if self.tracebacks else None
        with self._lock:
            self._fold()  # the link's earlier transfers first
            watch = self.links[index]
            if watch.by_hand:
                watch.by_hand -= 1
            watch.expected_due = due
            ended = time.time()
            watch.recent.append(update.transfer_number, 0, 0, 0, 1, ended, math.nan, math.nan)
            watch.errors.append((update.transfer_number, ended, text, trace))
            watch.transfers += 1
            watch.failures += 1
            if watch.failing_since is None:
                watch.failing_since = ended

    @hookimpl
    def databay_transfer_skipped(self, link: Any) -> None:
        self._count(link, "skipped")

    @hookimpl
    def databay_transfer_retrying(self, link: Any) -> None:
        self._count(link, "retries")

    @hookimpl
    def databay_batch_dead_lettered(self, link: Any) -> None:
        self._count(link, "dead_lettered")

    def _count(self, link: Any, counter: str) -> None:
        index = self._index_of.get(id(link))
        if index is not None:
            with self._lock:
                watch = self.links[index]
                setattr(watch, counter, getattr(watch, counter) + 1)

    # -- the log -------------------------------------------------------------------

    def start_logging(self) -> None:
        """Keep databay's log records (logger ``databay``) from now on."""
        logging.getLogger("databay").addHandler(self.log)

    def stop_logging(self) -> None:
        logging.getLogger("databay").removeHandler(self.log)


@dataclass(frozen=True)
class LogEntry:
    """One log record as the dashboard shows it."""

    seq: int
    time: float
    level: str
    levelno: int
    logger: str
    message: str
    link: int | None
    traceback: str | None = None


class LogBook(logging.Handler):
    """The last :data:`LOG_RECORDS` records of databay's loggers, each attributed to the link
    it is about when it names one (by an argument that is the link or its update, or by the
    link's label or tags in its message)."""

    def __init__(self, monitor: Monitor):
        super().__init__(logging.DEBUG)
        self._monitor = monitor
        self._entries: deque[LogEntry] = deque(maxlen=LOG_RECORDS)
        self._seq = 0
        self._tags = {tuple(tags): index for index, tags in
                      enumerate(spec.tags for spec in monitor.pipeline.spec.links) if tags}
        # How messages name a link: its label ("links[0] orders: ..."), a Link's repr
        # ("Link(tags:['orders'], ...") or an update of it ("orders.17").
        self._names = [(needle, index) for index, spec in enumerate(monitor.pipeline.spec.links)
                       for needle in (f"{spec.label}:", *((f"tags:{list(spec.tags)!r}", f"{'.'.join(spec.tags)}.")
                                                          if spec.tags else ()))]

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            trace = None
            if record.exc_info and self._monitor.tracebacks:
                trace = printable_lines("".join(traceback.format_exception(*record.exc_info)))
            with self.lock:  # type: ignore[union-attr]  # logging.Handler makes it
                self._seq += 1
                self._entries.append(LogEntry(self._seq, record.created, record.levelname, record.levelno, record.name,
                                              printable_lines(message), self._link_of(record, message), trace))
        except Exception:  # noqa: BLE001 - logging must never break what logs
            self.handleError(record)

    def _link_of(self, record: logging.LogRecord, message: str) -> int | None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            tags = getattr(arg, "tags", None)
            if isinstance(tags, list) and tuple(tags) in self._tags:
                return self._tags[tuple(tags)]
        for needle, index in self._names:
            if needle in message:
                return index
        return None

    def entries(self, after: int = 0, link: int | None = None, level: int = logging.NOTSET,
                limit: int = 200) -> list[LogEntry]:
        """The latest ``limit`` records after number ``after``, of ``link`` (any when ``None``),
        at ``level`` or above, oldest first."""
        with self.lock:  # type: ignore[union-attr]
            entries = list(self._entries)
        chosen = [e for e in entries if e.seq > after and (link is None or e.link == link)
                  and e.levelno >= level]
        return chosen[-limit:]
