"""Start/shutdown bookkeeping shared by inlets and outlets."""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable

from databay.thread_loop import run_in_thread_loop


class LifecycleNode:
    """Calls ``on_start`` and ``on_shutdown`` at most once per start/shutdown cycle.

    One node may be governed by several links; whichever link starts (or shuts down)
    first runs the callback, the others find it already done.
    """

    def __init__(self) -> None:
        self._active = False
        self._lifecycle_lock = threading.Lock()

    @property
    def active(self) -> bool:
        """Whether this node is started. Set to ``True`` on start, ``False`` on shutdown."""
        return getattr(self, "_active", False)

    def _claim(self, activate: bool) -> bool:
        try:
            lock = self._lifecycle_lock
        except AttributeError:  # a subclass whose __init__ skipped ours, as databay 0.3 allowed
            lock = self.__dict__.setdefault("_lifecycle_lock", threading.Lock())
        with lock:
            if self.active == activate:
                return False
            self._active = activate
            return True

    def try_start(self) -> None:
        """Call :meth:`on_start` unless this node was already started."""
        if self._claim(True):
            _call_maybe_async(self.on_start)

    def try_shutdown(self) -> None:
        """Call :meth:`on_shutdown` unless this node was already shut down."""
        if self._claim(False):
            _call_maybe_async(self.on_shutdown)

    async def try_start_async(self) -> None:
        """:meth:`try_start` on a running event loop: an async ``on_start`` is awaited there."""
        if self._claim(True):
            result = self.on_start()
            if inspect.isawaitable(result):
                await result

    async def try_shutdown_async(self) -> None:
        """:meth:`try_shutdown` on a running event loop: an async ``on_shutdown`` is awaited there."""
        if self._claim(False):
            result = self.on_shutdown()
            if inspect.isawaitable(result):
                await result

    _try_start_async = try_start_async  # the names of earlier versions
    _try_shutdown_async = try_shutdown_async

    def on_start(self) -> None | Awaitable[None]:
        """Called once just before the governing planner starts. Override to set up.

        May be a coroutine function; planners await it on their event loop.
        """

    def on_shutdown(self) -> None | Awaitable[None]:
        """Called once just after the governing planner has shut down. Override to clean up.

        May be a coroutine function; planners await it on their event loop.
        """


def _call_maybe_async(callback: Callable[[], None | Awaitable[None]]) -> None:
    result = callback()
    if inspect.isawaitable(result):
        # On the thread's private loop, the one Link.transfer() runs on outside a planner:
        # what an async on_start opens (a client session, a connection) is bound to the
        # loop that will use it, and on_shutdown can close it there.
        run_in_thread_loop(_await(result))


async def _await(awaitable: Awaitable[None]) -> None:
    await awaitable
