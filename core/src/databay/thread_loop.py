"""Each thread's own event loop: running a coroutine to completion from synchronous code.

``Link.transfer()`` outside a planner and ``try_start()`` of a node whose ``on_start`` is a
coroutine both run on the calling thread's private loop, created once and reused, so
that what an async ``on_start`` opens (a client session) is bound to the loop that later
pulls with it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

__all__ = ["run_in_thread_loop", "thread_loop"]


class _ThreadLoop:
    """A thread's private event loop, closed when the thread ends."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        if not self.loop.is_closed():
            self.loop.close()


_local = threading.local()


def thread_loop() -> asyncio.AbstractEventLoop:
    """The calling thread's private event loop (created on first use, never running here
    unless a coroutine is being run on it)."""
    holder = getattr(_local, "holder", None)
    if holder is None or holder.loop.is_closed():
        holder = _local.holder = _ThreadLoop()
    return holder.loop


def run_in_thread_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code.

    Reuses this thread's private loop; if the thread already runs a loop (a notebook, an
    async application), runs the coroutine on a helper thread instead of failing.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if not running:  # outside the except block: the coroutine's exceptions get no RuntimeError context
        return thread_loop().run_until_complete(coro)
    result: list[Any] = []
    error: list[BaseException] = []

    def target() -> None:
        try:
            result.append(run_in_thread_loop(coro))
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            error.append(exc)

    thread = threading.Thread(target=target, name="databay-transfer")
    thread.start()
    thread.join()
    if error:
        raise error[0]
    return result[0]
