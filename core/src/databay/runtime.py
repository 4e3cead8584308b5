"""Where transfers run: event loops and the thread pool for synchronous pulls and pushes.

A :class:`Runtime` is what a transfer needs from its surroundings: a way to run a
synchronous callable without blocking the event loop. Planners own one runtime each (one
loop, one bounded pool); ``Link.transfer()`` outside a planner uses a per-thread loop that
is created once and reused.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")


class Runtime:
    """Runs synchronous node methods for transfers on one event loop.

    :param executor: pool for synchronous calls; ``None`` runs a lone synchronous call
        inline (only right when nothing else shares the loop).
    """

    def __init__(self, executor: ThreadPoolExecutor | None):
        self.executor = executor

    async def run_sync(self, fn: Callable[..., T], *args: Any, alone: bool) -> T:
        """Run ``fn(*args)``; ``alone`` says no other call of this stage runs concurrently."""
        if self.executor is None:
            if alone:
                return fn(*args)
            return await asyncio.get_running_loop().run_in_executor(_shared_pool(), fn, *args)
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)


STANDALONE = Runtime(None)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(thread_name_prefix="databay-standalone")
        return _pool


class _ThreadLoop:
    """A thread's private event loop, closed when the thread ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()


_local = threading.local()


def run_standalone(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code.

    Reuses this thread's private loop; if the thread already runs a loop (a notebook, an
    async application), runs the coroutine on a helper thread instead of failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        holder = getattr(_local, "holder", None)
        if holder is None or holder.loop.is_closed():
            holder = _local.holder = _ThreadLoop()
        return holder.loop.run_until_complete(coro)
    result: list[Any] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(run_standalone(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="databay-transfer")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
