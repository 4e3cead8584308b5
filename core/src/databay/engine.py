"""The planner engine: one asyncio loop per planner running its links on time.

Each scheduled link has a :class:`_Slot`. Its transfers are due at ideal times
``anchor + k * interval`` (the anchor is the first transfer's time), armed with
``loop.call_at`` so nothing polls and nothing drifts. When a transfer is still running at
its link's next due time, that slot is skipped (coalesced) rather than run in parallel:
one link's transfers never overlap. Synchronous pulls and pushes run in the engine's
bounded thread pool; asynchronous ones on its loop.

A planner that times transfers with a scheduler of its own (``Engine(..., timers=False)``)
keeps everything else: it starts its scheduler on the engine's loop and runs each due
transfer with :meth:`Engine.transfer_due`, which applies the same rules (no overlap,
tracked in flight, errors to the planner, refused once stopping).

With many links (:data:`FREEZE_LINKS` or more) the engine freezes the objects that exist
when it starts (``gc.freeze()``, after one ``gc.collect()``) and unfreezes them when it
stops: a full garbage collection would otherwise walk every link, node and slot again
and again, and each walk (tens of milliseconds with 10,000 links) holds up every
transfer due meanwhile. Objects freed by reference counting are freed as usual.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import gc
import logging
import math
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import TYPE_CHECKING

from databay.runtime import Runtime, WorkerPool
from databay.transfer import TransferStats, run_transfer

if TYPE_CHECKING:
    from databay.link import Link

_LOGGER = logging.getLogger("databay.engine")
_worker = threading.local()
_START_BATCH = 64
FREEZE_LINKS = 500


def _warm_up_observers() -> None:
    """Load the plugins' observers now rather than in the first transfers (which would
    start late); a failure is left for the first transfer to report."""
    from databay import observers

    try:
        observers.current()
    except Exception:  # noqa: BLE001
        pass


class _Slot:
    """Scheduling state of one link."""

    __slots__ = ("link", "interval", "anchor", "k", "handle", "due", "task", "removed", "skipped", "queued")

    def __init__(self, link: Link):
        self.link = link
        self.interval = link.interval.total_seconds()
        self.anchor: float | None = None
        self.k = 0
        self.handle: asyncio.Handle | None = None  # an immediate transfer's call_soon
        self.due: float | None = None  # the time of the Engine._timers group it waits in
        self.task: asyncio.Task | None = None
        self.removed = False
        self.skipped = 0
        self.queued = False  # due, waiting in Engine._due for its transfer to start


class Engine:
    """Runs transfers of scheduled links on one event loop with one bounded thread pool.

    :param threads: size of the pool for synchronous pulls and pushes.
    :param on_transfer_error: called on the loop with ``(exception, link)`` when a
        scheduled transfer raises.
    :param timers: arm each scheduled link's due times (``True``); ``False`` leaves the
        timing to the caller, which runs due transfers with :meth:`transfer_due`.
    """

    def __init__(self, threads: int, on_transfer_error: Callable[[Exception, Link], None],
                 timers: bool = True):
        self.threads = threads
        self._on_transfer_error = on_transfer_error
        self._own_timers = timers
        self._slots: dict[Link, _Slot] = {}
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._runtime: Runtime | None = None
        self._stop_requested: asyncio.Event | None = None
        self._wait_on_stop = True
        self._stop_timeout: float | None = None
        self._stop_pending = False
        self._finished = threading.Event()
        self._finished.set()
        self._in_flight: set[asyncio.Task] = set()
        # Link.transfer() calls from other threads waiting for the loop: (future, coroutine).
        self._outside: dict[concurrent.futures.Future, Coroutine] = {}
        self._tearing_down = False  # from then on, transfers asked for from outside run without the loop
        self._due: collections.deque[_Slot] = collections.deque()
        # Slots waiting for the same due time share one timer: links armed together
        # fall due together, and a thousand timers would cost a thousand heap operations.
        self._timers: dict[float, dict[_Slot, None]] = {}
        self._timer_handles: dict[float, asyncio.TimerHandle] = {}
        self._starting = False

    # -- state -------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the loop is running (from the start of :meth:`run` to its return)."""
        return not self._finished.is_set()

    @property
    def stopping(self) -> bool:
        """Whether a stop was requested and the loop is winding down (or not running)."""
        return self._stop_requested is None or self._stop_requested.is_set()

    def in_own_thread(self) -> bool:
        """Whether the caller runs on this engine's loop or in its thread pool."""
        return (
            threading.get_ident() == self._loop_thread
            or getattr(_worker, "engine", None) is self
        )

    def accepts_external_transfers(self) -> bool:
        """Whether ``Link.transfer()`` from this thread should run on the engine's loop."""
        return self._loop is not None and self.running and not self.in_own_thread()

    @property
    def runtime(self) -> Runtime | None:
        """Where this engine's transfers run, while it runs (``None`` otherwise)."""
        return self._runtime

    def skipped_transfers(self, link: Link) -> int:
        """How many due transfers of ``link`` were skipped because one was still running."""
        slot = self._slots.get(link)
        return slot.skipped if slot else 0

    # -- scheduling (any thread) -------------------------------------------------

    def schedule(self, link: Link) -> None:
        """Start scheduling ``link`` (now if running, else when :meth:`run` starts)."""
        slot = _Slot(link)
        with self._lock:
            self._slots[link] = slot
        link._engine = self
        loop = self._loop
        if loop is not None and self.running:
            loop.call_soon_threadsafe(self._arm, slot, False)

    def unschedule(self, link: Link) -> None:
        """Stop scheduling ``link``; a transfer in flight finishes."""
        with self._lock:
            slot = self._slots.pop(link, None)
        if link._engine is self:
            link._engine = None
        if slot is None:
            return
        slot.removed = True
        loop = self._loop
        if loop is not None and self.running:
            loop.call_soon_threadsafe(self._disarm, slot)

    # -- running -----------------------------------------------------------------

    def run(
        self,
        before: Callable[[], Awaitable[None]],
        immediate: Callable[[Link], bool],
        after: Callable[[], Awaitable[None]],
    ) -> None:
        """Run the loop in the calling thread until :meth:`stop` (blocking).

        ``before`` runs first (``on_start``), then links are armed (``immediate`` says
        which transfer at once), and ``after`` runs last (``on_shutdown``), after the
        transfers in flight finished (or were cancelled, for ``stop(wait=False)``).
        """
        loop = asyncio.new_event_loop()
        executor = WorkerPool(loop, self.threads, "databay-worker", initializer=self._mark_worker)
        with self._lock:
            if self.running:
                loop.close()
                executor.shutdown()
                raise RuntimeError("This planner is already running.")
            self._finished.clear()
            for slot in self._due:
                slot.queued = False
            self._due.clear()
            self._starting = False
            self._tearing_down = False
            self._timers, self._timer_handles = {}, {}
            self._stop_pending = False
            self._wait_on_stop, self._stop_timeout = True, None
            self._loop, self._loop_thread = loop, threading.get_ident()
            self._runtime = Runtime(executor)
        main = loop.create_task(self._main(before, immediate, after))
        interrupted = False
        try:
            while True:
                try:
                    loop.run_until_complete(main)
                    break
                except KeyboardInterrupt:
                    if interrupted or main.done():
                        raise
                    interrupted = True  # first Ctrl-C: finish gracefully; a second forces
                    _LOGGER.warning("Interrupted: shutting down (interrupt again to force)")
                    self._stop_pending = True
                    self._request_stop()
            if interrupted:
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
                    # Transfers asked for from outside that the loop never got to run.
                    for future, coroutine in self._outside.items():
                        if not future.done():
                            coroutine.close()
                            future.set_result(None)  # the caller transfers without the planner

    def _mark_worker(self) -> None:
        _worker.engine = self

    async def _main(self, before, immediate, after) -> None:
        loop, runtime = self._loop, self._runtime
        assert loop is not None and runtime is not None  # set by run() before the loop starts
        self._stop_requested = stop_requested = asyncio.Event()
        runtime.stopping = stop_requested  # retry backoff ends when stopping
        if self._stop_pending:  # stop() came before the loop was ready
            stop_requested.set()
        frozen = False
        try:
            await before()
            _warm_up_observers()
            if not stop_requested.is_set():
                with self._lock:
                    slots = list(self._slots.values())
                if len(slots) >= FREEZE_LINKS and gc.isenabled():
                    gc.collect()
                    gc.freeze()
                    frozen = True
                loop_time = loop.time()  # one anchor: these links fall due together
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
        tasks = list(self._in_flight)
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

    def stop(self, wait: bool = True, timeout: float | None = None) -> None:
        """Ask the loop to stop; from outside the engine, block until it has when ``wait``.

        :param wait: let transfers in flight finish (else cancel them).
        :param timeout: with ``wait``, cancel transfers still running after this many seconds.
        """
        with self._lock:
            if not self.running:
                return
            self._wait_on_stop, self._stop_timeout = wait, timeout
            self._stop_pending = True
            loop = self._loop
            assert loop is not None  # run() sets it and clears _finished under this lock
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
        if slot.removed or self._loop is None or not self._own_timers:
            return
        slot.anchor = self._loop.time() if now is None else now
        if immediate:
            slot.k = 0
            slot.handle = self._loop.call_soon(self._fire, slot)
        else:
            slot.k = 1
            self._wait_until(slot, slot.anchor + slot.interval)

    def _wait_until(self, slot: _Slot, due: float) -> None:
        slot.due = due
        group = self._timers.get(due)
        if group is None:
            loop = self._loop
            assert loop is not None  # on the loop, which run() sets for as long as it runs
            group = self._timers[due] = {}
            self._timer_handles[due] = loop.call_at(due, self._fire_group, due)
        group[slot] = None

    def _disarm(self, slot: _Slot) -> None:
        if slot.handle is not None:
            slot.handle.cancel()
            slot.handle = None
        due, slot.due = slot.due, None
        if due is None:
            return
        group = self._timers.get(due)
        if group is not None:
            group.pop(slot, None)
            if not group:
                del self._timers[due]
                self._timer_handles.pop(due).cancel()

    def _fire_group(self, due: float) -> None:
        self._timer_handles.pop(due, None)
        for slot in self._timers.pop(due, ()):
            slot.due = None
            self._fire(slot)

    def _fire(self, slot: _Slot) -> None:
        slot.handle = None
        if slot.removed or self._stop_requested is None or self._stop_requested.is_set():
            return
        loop = self._loop
        assert loop is not None  # on the loop, which run() sets for as long as it runs
        now = loop.time()
        if slot.anchor is None:
            slot.anchor = now
        if slot.task is None and not slot.queued:
            slot.queued = True
            self._due.append(slot)
            if not self._starting:
                self._starting = True
                loop.call_soon(self._start_due)
        else:
            slot.skipped += 1
            _LOGGER.debug("%s still transferring, skipped a due transfer", slot.link)
        slot.k += 1
        due = slot.anchor + slot.k * slot.interval
        if due <= now:  # missed whole intervals: coalesce them into the next one
            slot.k = math.floor((now - slot.anchor) / slot.interval) + 1
            due = slot.anchor + slot.k * slot.interval
        self._wait_until(slot, due)

    def _start_due(self) -> None:
        """Start the transfers that fell due, a batch at a time, in the order they fell due.

        When thousands of links are due at once, starting them all in one go would keep
        thousands of tasks alive together, and the garbage collector would walk them
        over and over; a batch's first steps run before the next batch starts.
        """
        due = self._due
        loop = self._loop
        assert loop is not None  # on the loop, which run() sets for as long as it runs
        stopping = self._stop_requested is None or self._stop_requested.is_set()
        for _ in range(min(len(due), _START_BATCH)):
            slot = due.popleft()
            slot.queued = False
            if slot.removed or stopping:
                continue
            if slot.task is not None:  # Link.transfer() from outside got there first
                slot.skipped += 1
                continue
            # Tracked without a done callback (the transfer discards itself): one
            # callback less per transfer when thousands fall due at once.
            slot.task = task = loop.create_task(self._scheduled_transfer(slot))
            self._in_flight.add(task)
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

    async def _scheduled_transfer(self, slot: _Slot) -> TransferStats | None:
        try:
            return await run_transfer(slot.link, self._running_runtime())
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self._on_transfer_error(exc, slot.link)
            return None
        finally:
            slot.task = None
            self._in_flight.discard(asyncio.current_task())

    async def transfer_due(self, link: Link) -> TransferStats | None:
        """Run a due transfer of ``link`` now, in the calling task (for ``timers=False``).

        Call it on the engine's loop, from the job of an external scheduler. The rules
        are those of the engine's own timers: the transfer is skipped (``None``, counted
        by :meth:`skipped_transfers`) while one of the link's transfers is in flight, and
        refused (``None``) when the link is not scheduled or the engine is stopping. A
        failure goes to ``on_transfer_error`` (``None``). The calling task counts as in
        flight: ``stop(wait=True)`` waits for it, ``stop(wait=False)`` cancels it.
        """
        slot = self._slots.get(link)
        if slot is None or slot.removed or self.stopping:
            return None
        if slot.task is not None:
            slot.skipped += 1
            _LOGGER.debug("%s still transferring, skipped a due transfer", link)
            return None
        slot.task = task = _current_task()
        self._in_flight.add(task)
        return await self._scheduled_transfer(slot)

    # -- transfers requested from other threads ----------------------------------

    def transfer_from_outside(self, link: Link) -> TransferStats | None:
        """Run one transfer of ``link`` on the loop, after any in flight; block for it.

        Returns ``None`` when the loop stopped before it could start the transfer (the
        caller then runs it without the planner).
        """
        coroutine = self._exclusive_transfer(link)
        with self._lock:
            loop = self._loop
            try:
                if loop is None or self._finished.is_set():
                    raise RuntimeError("the planner stopped")
                future = asyncio.run_coroutine_threadsafe(coroutine, loop)
            except RuntimeError:  # stopped, or the loop closed meanwhile
                coroutine.close()
                return None
            self._outside[future] = coroutine
        try:
            return future.result()
        finally:
            with self._lock:
                self._outside.pop(future, None)

    async def _exclusive_transfer(self, link: Link) -> TransferStats | None:
        if self._tearing_down:  # too late to be waited for: the caller transfers without the loop
            return None
        task = self._track(_current_task())
        slot = self._slots.get(link)
        if slot is None:
            return await run_transfer(link, self._running_runtime())
        while slot.task is not None:
            await asyncio.wait([slot.task])
        slot.task = task
        try:
            return await run_transfer(link, self._running_runtime())
        finally:
            slot.task = None


def _current_task() -> asyncio.Task:
    """The task running the caller (a coroutine of the engine's, always run in a task)."""
    task = asyncio.current_task()
    assert task is not None, "not called from an asyncio task"
    return task
