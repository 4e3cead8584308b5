"""Ctrl-C for an engine whose loop runs in the main thread.

Python's own SIGINT handler raises ``KeyboardInterrupt`` wherever the main thread happens
to be, and only once the main thread runs Python code again: a signal that the kernel
hands to one of the worker threads leaves a loop asleep in ``select()`` until its next
timer (a minute away for a link due every minute), and one that lands inside a loop
callback can leave that callback's work half done (a group of due links taken off its
timer, a finished call taken off the worker pool) for a graceful shutdown to wait on.
So while the loop runs, :class:`GracefulInterrupts` takes SIGINT through the loop
(``loop.add_signal_handler``, which wakes the selector through the loop's own pipe and runs
the handler between callbacks): the first Ctrl-C asks for a graceful stop, the second
raises ``KeyboardInterrupt`` there to force it, as before. A handler someone else installed
(``databay run``'s, an application's) is left alone, and so is a loop in another thread or
on a platform without ``add_signal_handler`` (both keep Python's behaviour).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable


class GracefulInterrupts:
    """``with GracefulInterrupts(loop, on_first):`` around running ``loop`` in the main thread.

    :param loop: the loop that takes the signal.
    :param on_first: asks for a graceful stop; runs on the loop at the first Ctrl-C.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_first: Callable[[], None]):
        self._loop = loop
        self._on_first = on_first
        self._installed = False
        self.count = 0
        """How many times SIGINT came through the loop."""

    def __enter__(self) -> GracefulInterrupts:
        if threading.current_thread() is threading.main_thread() and \
                signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            try:
                self._loop.add_signal_handler(signal.SIGINT, self._interrupted)
            except NotImplementedError:  # Windows' loops
                return self
            self._installed = True
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            self._loop.remove_signal_handler(signal.SIGINT)  # back to Python's default_int_handler
            self._installed = False

    def _interrupted(self) -> None:
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt
        self._on_first()
