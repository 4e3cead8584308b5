"""Where transfers run: event loops and the thread pool for synchronous pulls and pushes.

A :class:`Runtime` is what a transfer needs from its surroundings: a way to run a
synchronous callable without blocking the event loop. Planners own one runtime each (one
loop, one bounded pool); ``Link.transfer()`` outside a planner runs on the calling thread's
own loop (:mod:`databay.thread_loop`) with :data:`STANDALONE`.
"""

from __future__ import annotations

import asyncio
import collections
import queue
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class WorkerPool:
    """A bounded pool of threads running synchronous calls for one event loop.

    Unlike ``loop.run_in_executor`` on a ``ThreadPoolExecutor``, finished calls are
    handed back to the loop in batches: one loop wake-up for all the calls finished
    since the last one, instead of one per call. When a thousand links are due at the
    same moment this makes their transfers start several times sooner.

    :param loop: the loop whose futures the calls complete.
    :param max_workers: most threads; they start on demand.
    :param thread_name_prefix: threads are named ``<prefix>_<n>``.
    :param initializer: called first in every thread.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, max_workers: int, thread_name_prefix: str,
                 initializer: Callable[[], None] | None = None):
        self._loop = loop
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._initializer = initializer
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._threads: list[threading.Thread] = []
        self._finished: collections.deque = collections.deque()
        self._wakeup_pending = False
        self._shutdown = False

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future:
        """Run ``fn(*args)`` in a pool thread; call on the loop. A future of its result."""
        if self._shutdown:
            raise RuntimeError("cannot run new calls after shutdown")
        future = self._loop.create_future()
        self._calls.put((future, fn, args))
        if not self._idle.acquire(blocking=False) and len(self._threads) < self._max_workers:
            thread = threading.Thread(target=self._work, name=f"{self._prefix}_{len(self._threads)}",
                                      daemon=True)
            self._threads.append(thread)
            thread.start()
        return future

    def _work(self) -> None:
        if self._initializer is not None:
            self._initializer()
        calls, finished = self._calls, self._finished
        while True:
            item = calls.get()
            if item is None:
                return
            future, fn, args = item
            try:
                outcome = (True, fn(*args))
            except BaseException as exc:  # noqa: BLE001 - delivered to the awaiting transfer
                outcome = (False, exc)
            del item, fn, args
            finished.append((future, outcome))
            del future, outcome
            if not self._wakeup_pending:
                self._wakeup_pending = True
                try:
                    self._loop.call_soon_threadsafe(self._deliver)
                except RuntimeError:  # the loop is closed: nobody waits any more
                    pass
            self._idle.release()

    def _deliver(self) -> None:
        # Reset first: a call finishing meanwhile schedules another delivery.
        self._wakeup_pending = False
        finished = self._finished
        while finished:
            future, (ok, value) = finished.popleft()
            if future.cancelled():
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        """Stop the threads once the queued calls ran (or, ``cancel_futures``, drop them)."""
        self._shutdown = True
        if cancel_futures:
            while True:
                try:
                    item = self._calls.get_nowait()
                except queue.Empty:
                    break
                if item is not None:
                    item[0].cancel()
        for _ in self._threads:
            self._calls.put(None)
        if wait:
            for thread in self._threads:
                thread.join()


class Runtime:
    """Runs synchronous node methods for transfers on one event loop.

    :param executor: pool for synchronous calls; ``None`` runs a lone synchronous call
        inline (only right when nothing else shares the loop).
    :param stopping: set when the owner shuts down, so that waits (retry backoff) end early.
    """

    def __init__(self, executor: WorkerPool | ThreadPoolExecutor | None, stopping: asyncio.Event | None = None):
        self.executor = executor
        self.stopping = stopping
        if isinstance(executor, WorkerPool):
            self._pool_run: Callable[..., asyncio.Future] | None = executor.run
            self._thread_pool: ThreadPoolExecutor | None = None
        else:
            self._pool_run, self._thread_pool = None, executor

    @property
    def allows_inline(self) -> bool:
        """Whether synchronous calls may run on the loop itself (no pool: nothing else shares it)."""
        return self.executor is None

    async def run_sync(self, fn: Callable[..., T], *args: Any, alone: bool) -> T:
        """Run ``fn(*args)``; ``alone`` says it may run on the loop itself (see :attr:`allows_inline`)."""
        if self._pool_run is not None:
            return await self._pool_run(fn, *args)
        pool = self._thread_pool
        if pool is None:
            if alone:
                return fn(*args)
            pool = _shared_pool()
        return await asyncio.get_running_loop().run_in_executor(pool, fn, *args)


STANDALONE = Runtime(None)
"""The runtime of transfers outside a planner: lone synchronous calls run inline."""

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(thread_name_prefix="databay-standalone")
        return _pool
