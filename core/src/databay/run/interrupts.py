"""Signals for an engine whose loop runs in the main thread.

A Python signal handler runs in the main thread, and only once that thread runs Python code
again. With the engine's loop asleep in ``select()`` in the main thread, a signal the kernel
handed to one of the worker threads then waits for the loop's next timer (a minute away for
a link due every minute): Ctrl-C, or the SIGTERM of ``systemctl stop``, seems ignored. And
Python's own SIGINT handler raises ``KeyboardInterrupt`` wherever the main thread is, which
may be inside a loop callback, leaving its work half done (a group of due links taken off
its timer, a finished call taken off the worker pool) for a graceful shutdown to wait on.

So while the loop runs, :class:`LoopSignals` takes SIGINT and SIGTERM through the loop
(``loop.add_signal_handler``, which wakes the selector through the loop's own pipe and runs
the handler between callbacks). SIGINT under Python's default handler: the first asks for a
graceful stop, the second raises ``KeyboardInterrupt`` there to force it, as before. A
handler the application (or ``databay run``) installed is called on the loop instead, with
the signal's number and no frame, and is put back afterwards. Signals left to the system
(``SIG_DFL``, ``SIG_IGN``) stay so; a loop in another thread, or on a platform without
``add_signal_handler``, keeps Python's behaviour.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from typing import Any

SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


class LoopSignals:
    """``with LoopSignals(loop, on_first_interrupt):`` around running ``loop`` in the main thread.

    :param loop: the loop that takes the signals.
    :param on_first_interrupt: asks for a graceful stop; runs on the loop at the first Ctrl-C
        (when no handler of the application's takes SIGINT).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, on_first_interrupt: Callable[[], None]):
        self._loop = loop
        self._on_first_interrupt = on_first_interrupt
        self._previous: dict[int, Any] = {}  # the handlers to put back, by signal
        self.interrupts = 0
        """How many times SIGINT came to the default handling."""

    def __enter__(self) -> LoopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        for sig in SIGNALS:
            handler = signal.getsignal(sig)
            if handler is signal.default_int_handler:
                callback: Callable[..., object] = self._interrupted
                args: tuple = ()
            elif callable(handler):
                callback, args = handler, (sig, None)
            else:
                continue
            try:
                self._loop.add_signal_handler(sig, callback, *args)
            except NotImplementedError:  # Windows' loops
                return self
            self._previous[sig] = handler
        return self

    def __exit__(self, *exc_info: object) -> None:
        for sig, handler in self._previous.items():
            self._loop.remove_signal_handler(sig)
            signal.signal(sig, handler)
        self._previous.clear()

    def _interrupted(self) -> None:
        self.interrupts += 1
        if self.interrupts > 1:
            raise KeyboardInterrupt
        self._on_first_interrupt()
