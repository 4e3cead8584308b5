"""The engine: one asyncio loop running many links' transfers on time.

Each scheduled link has a :class:`_Slot`. Its transfers are due at the times its
:class:`~databay.schedules.Schedule` gives, armed with ``loop.call_at`` so nothing polls
and nothing drifts: an interval grid ``first + k * interval`` on the loop's own clock, or
a calendar on the wall clock, each due time mapped onto the loop's clock from a fresh
reading of the wall clock, read again at least every
:data:`~databay.run.schedules.WALL_CLOCK_RECHECK` seconds (see :mod:`databay.run.schedules`).
When a transfer is still running at its link's next due time, that time is skipped
(coalesced) rather than run in parallel: one link's transfers never overlap. Synchronous pulls and pushes
run in the engine's bounded thread pool; asynchronous ones on its loop.

A link is run **directly** (its transfers from its settings, its nodes started by
:mod:`~databay.run.nodes`) or, when the planner says its public methods must be used (a
subclass overriding ``transfer()``, a test double), **through** ``link.transfer()``,
``link.on_start()`` and ``link.on_shutdown()``, called in the pool. Inside such a call, the
link's own ``Link.transfer()`` (``super().transfer()``) runs on this loop at once.

A planner that times transfers with a scheduler of its own (``Engine(..., timers=False)``)
keeps everything else: it starts its scheduler on the engine's loop and runs each due
transfer with :meth:`Engine.transfer_due`, which applies the same rules.

With many links (:data:`FREEZE_LINKS` or more) the engine freezes the objects that exist
when it starts, the links' plans made first (``gc.freeze()``, after one ``gc.collect()``),
and unfreezes them when it stops: a full garbage collection would otherwise walk every
link, node, plan and slot again and again, and each walk (tens of milliseconds with
10,000 links) holds up every transfer due meanwhile. Objects freed by reference counting are freed as usual.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from databay import observers
from databay.calendar import Calendar
from databay.run import nodes
from databay.run.interrupts import LoopSignals
from databay.run.runtime import Runtime, WorkerPool
from databay.run.schedules import loop_wake_up, wall_clock_of
from databay.run.state import LinkState, state_of
from databay.run.stats import TransferStats
from databay.run.transfer import quiet as transfer_quiet
from databay.run.transfer import run_transfer, scheduled_transfer
from databay.schedules import IntervalGrid, Schedule, schedule_of

__all__ = ["FREEZE_LINKS", "NOT_RUN", "Engine"]

T = TypeVar("T")

_LOGGER = logging.getLogger("databay.engine")
_worker = threading.local()  # .engine: the engine of this pool thread; .driving: the link whose method it calls
_START_BATCH = 256
_START_AT_ONCE = 1024
FREEZE_LINKS = 500

NOT_RUN: Any = object()
"""What :meth:`Engine.run_for` returns when the caller must do the work itself."""


def _warm_up_observers() -> None:
    """Load the plugins' observers now rather than in the first transfers (which would
    start late); a failure is left for the first transfer to report."""
    try:
        observers.current()
    except Exception:  # noqa: BLE001
        pass


class _Slot:
    """Scheduling state of one link."""

    __slots__ = ("link", "state", "direct", "schedule", "clock", "wall_due", "due", "task", "removed", "skipped",
                 "queued", "paused")

    def __init__(self, link: Any, schedule: Schedule, direct: bool):
        self.link = link
        self.state: LinkState = state_of(link)
        self.direct = direct  # run from its settings, not through its public methods
        self.schedule = schedule
        self.clock = wall_clock_of(schedule)  # None: due times on the loop's clock
        self.wall_due = 0.0  # on the wall clock: the due time (POSIX seconds) it waits for
        self.due: float | None = None  # the time of the timer group it waits in (Engine._timers or _wall_timers)
        self.task: asyncio.Task | None = None
        self.removed = False
        self.skipped = 0
        self.queued = False  # due, waiting in Engine._due for its transfer to start
        self.paused = False  # its due times pass without a transfer (it stays on its schedule)


class Engine:
    """Runs transfers of scheduled links on one event loop with one bounded thread pool.

    :param threads: size of the pool for synchronous pulls and pushes.
    :param on_transfer_error: called on the loop with ``(exception, link)`` when a
        scheduled transfer raises.
    :param timers: arm each scheduled link's due times (``True``); ``False`` leaves the
        timing to the caller, which runs due transfers with :meth:`transfer_due`.
    """

    def __init__(self, threads: int, on_transfer_error: Callable[[Exception, Any], None], timers: bool = True):
        self.threads = threads
        self._on_transfer_error = on_transfer_error
        self._own_timers = timers
        self._slots: dict[Any, _Slot] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runtime: Runtime | None = None
        self._stop_requested: asyncio.Event | None = None
        self._wait_on_stop = True
        self._stop_timeout: float | None = None
        self._stop_pending = False
        self._claimed = False  # start() entered: running from then on
        self._claimed_by: int | None = None
        self._loop_changed = threading.Condition(self._lock)  # the loop came up, or the engine finished
        self._finished = threading.Event()
        self._finished.set()
        self._in_flight: set[asyncio.Task] = set()
        # Calls from other threads waiting for the loop: (future, coroutine).
        self._outside: dict[concurrent.futures.Future, Coroutine] = {}
        self._tearing_down = False  # from then on, transfers asked for from outside run without the loop
        self._due: collections.deque[_Slot] = collections.deque()
        # Slots waiting for the same due time share one timer: links armed together
        # fall due together, and a thousand timers would cost a thousand heap operations.
        self._timers: dict[float, dict[_Slot, None]] = {}
        self._timer_handles: dict[float, asyncio.TimerHandle] = {}
        # Links on the wall clock wake up on timers of their own (see _fire_wall_group).
        self._wall_timers: dict[float, dict[_Slot, None]] = {}
        self._wall_handles: dict[float, asyncio.TimerHandle] = {}
        self._wall_reading: tuple[float, Any, float] | None = None  # (loop time, clock, its reading)
        self._starting = False
        self._grids: dict[float, IntervalGrid] = {}
        self._calendars: dict[Calendar, Calendar] = {}

    # -- state -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the engine runs: from :meth:`claim` (or :meth:`run`) until :meth:`run` returns."""
        return not self._finished.is_set()

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested and the loop is winding down (or not running)."""
        return self._stop_requested is None or self._stop_requested.is_set()

    def in_own_thread(self) -> bool:
        """Whether the caller runs on this engine's loop or in its thread pool."""
        return threading.get_ident() == self._loop_thread or getattr(_worker, "engine", None) is self

    @property
    def runtime(self) -> Runtime | None:
        """Where this engine's transfers run, while it runs (``None`` otherwise)."""
        return self._runtime

    def next_due(self, link: Any) -> float | None:
        """When ``link``'s next transfer is due, on the loop's clock (``time.monotonic()``
        for asyncio's loops); ``None`` when the engine's timers do not time it (not running,
        not scheduled, or ``timers=False``)."""
        slot = self._slots.get(link)
        if slot is None or slot.due is None or slot.clock is None:
            return slot.due if slot is not None else None
        return time.monotonic() + (slot.wall_due - slot.clock())

    def next_due_wall(self, link: Any) -> float | None:
        """When ``link``'s next transfer is due, on the wall clock (POSIX seconds; the
        calendar's own clock for a link on a calendar); ``None`` as for :meth:`next_due`."""
        slot = self._slots.get(link)
        if slot is None or slot.due is None:
            return None
        if slot.clock is not None:
            return slot.wall_due
        return time.time() + (slot.due - time.monotonic())

    def skipped_transfers(self, link: Any) -> int:
        """How many due transfers of ``link`` were skipped because one was still running."""
        slot = self._slots.get(link)
        return slot.skipped if slot else 0

    def pause(self, link: Any, paused: bool = True) -> None:
        """Pause (or resume) ``link``: while paused its due times pass without a transfer;
        it keeps its place on its schedule. Any thread.

        :raises KeyError: the link is not scheduled.
        """
        self._slots[link].paused = paused

    def is_paused(self, link: Any) -> bool:
        """Whether ``link`` is paused (``False`` when not scheduled)."""
        slot = self._slots.get(link)
        return slot is not None and slot.paused

    # -- scheduling (any thread) -------------------------------------------------

    def schedule(self, link: Any, direct: bool = True, schedule: Schedule | None = None) -> None:
        """Start scheduling ``link`` (now if running, else when :meth:`run` starts).

        :param direct: run it from its settings (``False``: through its public methods).
        :param schedule: its due times; by default those of ``link.interval``.
        :raises ValueError: the link's interval is not positive, or (with the engine's own
            timers) neither an interval nor a :class:`~databay.calendar.Calendar`.
        """
        if schedule is None:
            schedule = self._schedule_of(link)
        slot = _Slot(link, schedule, direct)
        with self._lock:
            self._slots[link] = slot
        slot.state.engine = self
        loop = self._loop
        if loop is not None and self.running:
            loop.call_soon_threadsafe(self._arm, slot, False)

    def _schedule_of(self, link: Any) -> Schedule:
        """``link``'s schedule, one object per interval or calendar: links on the same
        one fall due together, in one timer group."""
        schedule = schedule_of(link)
        if isinstance(schedule, IntervalGrid):
            return self._grids.setdefault(schedule.seconds, schedule)
        if isinstance(schedule, Calendar):
            return self._calendars.setdefault(schedule, schedule)
        if self._own_timers:
            raise ValueError(f"cannot schedule {link!r}: this planner runs links on an interval or a "
                             f"databay.Calendar, and {schedule!r} is neither (a cron schedule runs on the aps "
                             f"planner, ApsPlanner of databay-aps)")
        return schedule  # the planner's own scheduler times it

    def unschedule(self, link: Any) -> None:
        """Stop scheduling ``link``; a transfer in flight finishes."""
        with self._lock:
            slot = self._slots.pop(link, None)
        if slot is None:
            return
        if slot.state.engine is self:
            slot.state.engine = None
        slot.removed = True
        task = slot.task
        if task is not None and not task.done():  # its transfer in flight is still waited for at shutdown
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        loop = self._loop
        if loop is not None and self.running:
            loop.call_soon_threadsafe(self._disarm, slot)

    def is_direct(self, link: Any) -> bool:
        """Whether ``link`` is run from its settings (see :meth:`schedule`); ``True`` if unknown."""
        slot = self._slots.get(link)
        return slot is None or slot.direct

    # -- running -----------------------------------------------------------------

    def claim(self) -> None:
        """Mark the engine running, before :meth:`run` builds its loop: a :meth:`stop` from
        now on stops it as soon as it is up.

        :raises RuntimeError: it is already running.
        """
        with self._lock:
            if self.running:
                raise RuntimeError("This planner is already running.")
            self._claimed, self._claimed_by = True, threading.get_ident()
            self._stop_pending = False
            self._wait_on_stop, self._stop_timeout = True, None
            self._finished.clear()

    def release_claim(self) -> None:
        """Undo a :meth:`claim` that :meth:`run` never took up (the start failed before)."""
        with self._lock:
            if self._claimed:
                self._claimed = False
                self._finished.set()
                self._loop_changed.notify_all()

    def run(
        self,
        before: Callable[[], Awaitable[None]],
        immediate: Callable[[Any], bool],
        after: Callable[[], Awaitable[None]],
    ) -> None:
        """Run the loop in the calling thread until :meth:`stop` (blocking).

        ``before`` runs first (``on_start``), then links are armed (``immediate`` says
        which transfer at once), and ``after`` runs last (``on_shutdown``), after the
        transfers in flight finished (or were cancelled, for ``stop(wait=False)``).
        """
        with self._lock:
            claimed, self._claimed = self._claimed, False
        if not claimed:
            self.claim()
        loop = asyncio.new_event_loop()
        executor = WorkerPool(loop, self.threads, "databay-worker", initializer=self._mark_worker)
        with self._lock:
            for slot in self._due:
                slot.queued = False
            self._due.clear()
            self._starting = False
            self._tearing_down = False
            self._timers, self._timer_handles = {}, {}
            self._wall_timers, self._wall_handles, self._wall_reading = {}, {}, None
            self._loop, self._loop_thread = loop, threading.get_ident()
            self._runtime = Runtime(executor)
            self._loop_changed.notify_all()
        main = loop.create_task(self._main(before, immediate, after))
        interrupted = False  # by a KeyboardInterrupt raised in the loop (where ours is not the handler)
        try:
            with LoopSignals(loop, self._interrupted) as signals:
                while True:
                    try:
                        loop.run_until_complete(main)
                        break
                    except KeyboardInterrupt:
                        if interrupted or signals.interrupts or main.done():
                            raise  # a second Ctrl-C forces
                        interrupted = True  # first Ctrl-C: finish gracefully
                        self._interrupted()
            if interrupted or signals.interrupts:
                raise KeyboardInterrupt
        finally:
            executor.shutdown(wait=self._wait_on_stop, cancel_futures=not self._wait_on_stop)
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()
                with self._lock:
                    self._loop = self._loop_thread = self._runtime = None
                    self._stop_requested = None
                    self._finished.set()
                    self._loop_changed.notify_all()
                    # Calls from outside that the loop never got to run.
                    for future, coroutine in self._outside.items():
                        if not future.done():
                            coroutine.close()
                            future.set_result(NOT_RUN)  # the caller does it without the planner

    def _interrupted(self) -> None:
        _LOGGER.warning("Interrupted: shutting down (interrupt again to force)")
        self._stop_pending = True
        self._request_stop()

    def _mark_worker(self) -> None:
        _worker.engine = self

    async def _main(self, before, immediate, after) -> None:
        loop, runtime = self._loop, self._runtime
        assert loop is not None and runtime is not None  # set by run() before the loop starts
        stop_requested = asyncio.Event()
        with self._lock:  # stop() reads both under this lock: a request is never lost
            self._stop_requested = stop_requested
            if self._stop_pending:  # stop() came before the loop was ready
                stop_requested.set()
        runtime.stopping = stop_requested  # retry backoff ends when stopping
        frozen = False
        try:
            await before()
            _warm_up_observers()
            if not stop_requested.is_set():
                with self._lock:
                    slots = list(self._slots.values())
                if len(slots) >= FREEZE_LINKS and gc.isenabled():
                    # Made now rather than by the first transfers, the links' plans are
                    # frozen with them: else 40,000 objects for 10,000 links stay in the
                    # collected generations, and every full collection walks them.
                    for slot in slots:
                        if slot.direct:
                            slot.state.plan(slot.link)
                    gc.collect()
                    gc.freeze()
                    frozen = True
                loop_time = loop.time()  # one start: these links fall due together
                for slot in slots:
                    self._arm(slot, immediate(slot.link), now=loop_time)
                await stop_requested.wait()
        finally:
            try:
                await self._teardown()
                await after()
            finally:
                if frozen:
                    gc.unfreeze()

    async def _teardown(self) -> None:
        self._tearing_down = True
        with self._lock:
            slots = list(self._slots.values())
        for slot in slots:
            self._disarm(slot)
        # Every transfer in flight, including those of links removed meanwhile.
        tasks = list({slot.task for slot in slots if slot.task is not None and not slot.task.done()}
                     | self._in_flight)
        if not tasks:
            return
        if self._wait_on_stop:
            done, pending = await asyncio.wait(tasks, timeout=self._stop_timeout)
            if pending:
                _LOGGER.warning(
                    "Cancelling %d transfer(s) still running after %ss", len(pending), self._stop_timeout
                )
        else:
            pending = set(tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        # A transfer cancelled before its first step never ran its clean-up.
        self._in_flight.difference_update(tasks)
        for slot in slots:
            slot.task = None

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Ask the loop to stop (as soon as it is up, if it is starting); from outside the
        engine, block until it has when ``wait``.

        :param wait: let transfers in flight finish (else cancel them).
        :param timeout: with ``wait``, cancel transfers still running after this many seconds.
        """
        with self._lock:
            if not self.running:
                return
            self._wait_on_stop, self._stop_timeout = wait, timeout
            self._stop_pending = True
            loop, requested = self._loop, self._stop_requested
        if loop is not None and requested is not None:
            try:
                loop.call_soon_threadsafe(self._request_stop)
            except RuntimeError:  # the loop closed meanwhile
                return
        if wait and not self.in_own_thread():
            self._finished.wait()

    def _request_stop(self) -> None:
        if self._stop_requested is not None:
            self._stop_requested.set()

    # -- timers (loop thread) ----------------------------------------------------

    def _arm(self, slot: _Slot, immediate: bool, now: float | None = None) -> None:
        loop = self._loop
        if slot.removed or loop is None or not self._own_timers:
            return
        # An immediate transfer is due now: its timer fires at the loop's next turn.
        if now is None:
            now = loop.time()
        clock = slot.clock
        if clock is None:
            due = slot.due = slot.schedule.first_due(now, immediate)
            self._join({slot: None}, due)
            return
        wall_now = self._wall_now(clock, now)
        slot.wall_due = slot.schedule.first_due(wall_now, immediate)
        wake = slot.due = loop_wake_up(slot.wall_due, wall_now, now)
        self._join({slot: None}, wake, wall=True)

    def _wall_now(self, clock: Callable[[], float], now: float) -> float:
        """``clock()``, read once per loop time: links armed together or woken together
        get the same reading, so links on one calendar stay in one timer group."""
        reading = self._wall_reading
        if reading is not None and reading[0] == now and reading[1] is clock:
            return reading[2]
        wall = clock()
        self._wall_reading = (now, clock, wall)
        return wall

    def _join(self, slots: dict[_Slot, None], due: float, wall: bool = False) -> None:
        """Add ``slots`` (their ``due`` already set) to the group waiting for ``due`` (among
        the groups of links on the wall clock, with ``wall``)."""
        timers, handles = (self._wall_timers, self._wall_handles) if wall else (self._timers, self._timer_handles)
        waiting = timers.get(due)
        if waiting is None:
            loop = self._loop
            assert loop is not None  # on the loop, which run() sets for as long as it runs
            timers[due] = slots
            handles[due] = loop.call_at(due, self._fire_wall_group if wall else self._fire_group, due)
        else:
            waiting.update(slots)

    def _disarm(self, slot: _Slot) -> None:
        due, slot.due = slot.due, None
        if due is None:
            return
        timers, handles = (self._timers, self._timer_handles) if slot.clock is None else \
            (self._wall_timers, self._wall_handles)
        group = timers.get(due)
        if group is not None:
            group.pop(slot, None)
            if not group:
                del timers[due]
                handles.pop(due).cancel()

    def _fire_group(self, due: float) -> None:
        """The links waiting for ``due`` fell due: queue their transfers (or skip those
        still transferring) and wait for their next due times."""
        taken = self._take_group(self._timers, self._timer_handles, due)
        if taken is None:
            return
        group, now = taken
        queue, fall_due = self._due, self._fall_due
        schedule = next(iter(group)).schedule
        alike = True  # every slot alive and on one schedule
        for slot in group:
            if slot.removed:
                alike = False
                continue
            if slot.schedule is not schedule:
                alike = False
            fall_due(slot, queue)
        if alike:
            # The common case, links on one grid: the group moves on whole.
            next_due = schedule.next_due(due, now)
            for slot in group:
                slot.due = next_due
            self._join(group, next_due)
        else:
            schedules = {slot.schedule for slot in group if not slot.removed}
            following = {schedule: schedule.next_due(due, now) for schedule in schedules}
            for slot in group:
                slot.due = None if slot.removed else following[slot.schedule]
            for next_due in following.values():
                self._join({slot: None for slot in group if slot.due == next_due}, next_due)
        if queue:
            self._start_soon()

    def _fire_wall_group(self, wake: float) -> None:
        """Links on the wall clock woke up: those whose due time the wall clock has reached
        fall due (as in :meth:`_fire_group`); each then waits for its due time again, mapped
        from a fresh reading of the wall clock (a jump of the clock moves no due time)."""
        taken = self._take_group(self._wall_timers, self._wall_handles, wake)
        if taken is None:
            return
        group, now = taken
        queue, fall_due = self._due, self._fall_due
        following: dict[tuple[int, float], float] = {}  # links on one calendar move on together
        woken: dict[float, dict[_Slot, None]] = {}
        for slot in group:
            if slot.removed:
                slot.due = None
                continue
            wall_now = self._wall_now(slot.clock, now)  # type: ignore[arg-type]  # a wall-clock slot has one
            wall_due = slot.wall_due
            if wall_due <= wall_now:
                fall_due(slot, queue)
                key = (id(slot.schedule), wall_due)
                if key not in following:
                    following[key] = slot.schedule.next_due(wall_due, wall_now)
                wall_due = slot.wall_due = following[key]
            next_wake = slot.due = loop_wake_up(wall_due, wall_now, now)
            woken.setdefault(next_wake, {})[slot] = None
        for next_wake, slots in woken.items():
            self._join(slots, next_wake, wall=True)
        if queue:
            self._start_soon()

    def _take_group(self, timers: dict[float, dict[_Slot, None]], handles: dict[float, asyncio.TimerHandle],
                    key: float) -> tuple[dict[_Slot, None], float] | None:
        """The links whose timer ``key`` fired, taken off ``timers``, and the loop's time now;
        ``None`` when there are none left, or when the engine is stopping (they then wait
        for nothing)."""
        handles.pop(key, None)
        group = timers.pop(key, None)
        if not group:
            return None
        if self.stopping:
            for slot in group:
                slot.due = None
            return None
        loop = self._loop
        assert loop is not None  # on the loop, which run() sets for as long as it runs
        return group, loop.time()

    def _fall_due(self, slot: _Slot, queue: collections.deque[_Slot]) -> None:
        """``slot``'s link fell due: queue its transfer, unless it is paused (nothing), or
        already queued or transferring (a skipped transfer)."""
        task = slot.task
        if slot.paused:
            return
        if (task is None or task.done()) and not slot.queued:
            slot.queued = True
            queue.append(slot)
        else:
            self._skipped(slot)

    def _start_soon(self) -> None:
        """Have the loop start the queued due transfers, unless it is already about to."""
        if not self._starting:
            assert self._loop is not None  # on the loop, which run() sets for as long as it runs
            self._starting = True
            self._loop.call_soon(self._start_due)

    def _skipped(self, slot: _Slot) -> None:
        slot.skipped += 1
        _LOGGER.debug("%s still transferring, skipped a due transfer", slot.link)
        notify = observers.current()
        if notify is not None:
            notify.transfer_skipped(link=slot.link, skipped=slot.skipped)

    def _start_due(self) -> None:
        """Start the transfers that fell due, a batch at a time, in the order they fell due.

        When thousands of links are due at once, starting them all in one go would keep
        thousands of tasks alive together, and the garbage collector would walk them
        over and over; a batch's first steps run before the next batch starts.
        """
        due = self._due
        loop = self._loop
        assert loop is not None  # on the loop, which run() sets for as long as it runs
        stopping = self.stopping
        next_slot, transfer = due.popleft, self._scheduled_transfer
        # Without a task factory (the engine's loop has none, unless a plugin set one),
        # asyncio.Task() makes what loop.create_task() would, without its Python frame
        # (~0.2 us of a transfer's ~5 when thousands fall due at once).
        create_task, task_of = loop.create_task, (asyncio.Task if loop.get_task_factory() is None else None)
        runtime, on_error = self._running_runtime(), self._on_transfer_error
        quiet = transfer_quiet()  # asked once for the batch
        # Up to _START_AT_ONCE due together start in one go: handing the loop back between
        # batches lets the pool's threads take the interpreter, and sync pulls then start late.
        count = len(due) if len(due) <= _START_AT_ONCE else _START_BATCH
        for _ in range(count):
            slot = next_slot()
            slot.queued = False
            if slot.removed or stopping:
                continue
            if slot.task is not None and not slot.task.done():  # Link.transfer() from outside got there first
                self._skipped(slot)
                continue
            # Tracked by its slot alone (idle once its task is done, or released by the
            # quiet short cut when it ends): no set, no done callback and no wrapping
            # coroutine per transfer when thousands fall due at once.
            if slot.direct:
                coroutine = scheduled_transfer(slot.link, runtime, slot.state, on_error, quiet, slot)
                slot.task = task_of(coroutine, loop=loop) if task_of is not None else create_task(coroutine)
            else:
                slot.task = create_task(transfer(slot))
        if due:
            loop.call_soon(self._start_due)
        else:
            self._starting = False

    def _track(self, task: asyncio.Task) -> asyncio.Task:
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)
        return task

    def _running_runtime(self) -> Runtime:
        """The runtime, for a transfer on the loop (``run()`` sets it for as long as the loop runs)."""
        runtime = self._runtime
        assert runtime is not None, "the engine's loop is not running"
        return runtime

    async def _scheduled_transfer(self, slot: _Slot) -> Any:
        """A due transfer of ``slot``'s link in the calling task (one that drives the link
        through its methods, or one asked for by ``transfer_due``); failures go to
        ``on_transfer_error``."""
        try:
            if slot.direct:
                return await run_transfer(slot.link, self._running_runtime(), state=slot.state)
            return await self.drive(slot.link, slot.link.transfer)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._on_transfer_error(exc, slot.link)
            return None
        finally:
            slot.task = None

    async def transfer_due(self, link: Any) -> TransferStats | None:
        """Run a due transfer of ``link`` now, in the calling task (for ``timers=False``).

        Call it on the engine's loop, from the job of an external scheduler. The rules
        are those of the engine's own timers: the transfer is skipped (``None``, counted
        by :meth:`skipped_transfers`) while one of the link's transfers is in flight, and
        refused (``None``) when the link is not scheduled or the engine is stopping. A
        failure goes to ``on_transfer_error`` (``None``). The calling task counts as in
        flight: ``stop(wait=True)`` waits for it, ``stop(wait=False)`` cancels it.
        """
        slot = self._slots.get(link)
        if slot is None or slot.removed or slot.paused or self.stopping:
            return None
        if slot.task is not None and not slot.task.done():
            self._skipped(slot)
            return None
        slot.task = _current_task()
        return await self._scheduled_transfer(slot)

    # -- a link's public methods, called in the pool -------------------------------

    async def drive(self, link: Any, method: Callable[[], T]) -> T:
        """Call ``method`` (a public method of ``link``: ``transfer``, ``on_start``,
        ``on_shutdown``) in the pool; on the loop. Inside it, the link's own ``Link``
        methods run on this loop at once (see :meth:`run_for`)."""
        return await self._running_runtime().run_sync(_call_driving, link, method, alone=False)

    async def start_link(self, link: Any) -> None:
        """Start ``link`` (its nodes and stage) on the loop, directly or through ``on_start()``."""
        if self.is_direct(link):
            await nodes.start(link)
        else:
            await self.drive(link, link.on_start)

    async def shut_down_link(self, link: Any) -> None:
        """Shut ``link`` down on the loop, directly or through ``on_shutdown()``."""
        if self.is_direct(link):
            await nodes.shut_down(link)
        else:
            await self.drive(link, link.on_shutdown)

    # -- calls from other threads --------------------------------------------------

    def run_for(self, link: Any, work: Callable[[Runtime], Coroutine[Any, Any, T]], exclusive: bool) -> T:
        """Run ``work(runtime)`` for ``link`` on the loop and block for its result, when
        the caller may: from a thread of its own while the loop runs (``exclusive``: after
        any transfer of ``link`` in flight, holding off the next), or from the pool thread
        calling one of ``link``'s public methods for the engine (at once).

        Returns :data:`NOT_RUN` when the caller must do the work without the engine: on the
        loop's own thread (which must not block), from a pool thread busy with something
        else, or when the loop is not running (any more).
        """
        if threading.get_ident() == self._loop_thread:
            return NOT_RUN
        if getattr(_worker, "engine", None) is self:
            if getattr(_worker, "driving", None) is not link:
                return NOT_RUN
            exclusive = False  # the engine's own call of the link's method holds its slot
        coroutine = self._exclusive(link, work) if exclusive else self._tracked(work)
        with self._lock:
            if threading.get_ident() != self._claimed_by:  # not the thread about to run the loop
                while self._loop is None and self.running:  # starting: wait until the loop is up
                    self._loop_changed.wait()
            loop = self._loop
            try:
                if loop is None or self._finished.is_set() or self._tearing_down:
                    raise RuntimeError("the planner stopped")
                future = asyncio.run_coroutine_threadsafe(coroutine, loop)
            except RuntimeError:  # stopped, or the loop closed meanwhile
                coroutine.close()
                return NOT_RUN
            self._outside[future] = coroutine
        try:
            return future.result()
        finally:
            with self._lock:
                self._outside.pop(future, None)

    async def _tracked(self, work: Callable[[Runtime], Coroutine[Any, Any, T]]) -> T:
        if self._tearing_down:  # too late to be waited for: the caller does it without the loop
            return NOT_RUN
        self._track(_current_task())
        return await work(self._running_runtime())

    async def _exclusive(self, link: Any, work: Callable[[Runtime], Coroutine[Any, Any, T]]) -> T:
        if self._tearing_down:
            return NOT_RUN
        task = self._track(_current_task())
        slot = self._slots.get(link)
        if slot is None:
            return await work(self._running_runtime())
        while slot.task is not None and not slot.task.done():
            await asyncio.wait([slot.task])
        slot.task = task
        try:
            return await work(self._running_runtime())
        finally:
            slot.task = None


def _call_driving(link: Any, method: Callable[[], T]) -> T:
    """``method()`` in a pool thread, marked as the engine's call of one of ``link``'s methods."""
    previous, _worker.driving = getattr(_worker, "driving", None), link
    try:
        return method()
    finally:
        _worker.driving = previous


def _current_task() -> asyncio.Task:
    """The task running the caller (a coroutine of the engine's, always run in a task)."""
    task = asyncio.current_task()
    assert task is not None, "not called from an asyncio task"
    return task
