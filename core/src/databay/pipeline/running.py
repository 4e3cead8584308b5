"""Running a pipeline until it is stopped, or once; stopping it gracefully on signals.

Graceful stop (SIGINT, i.e. Ctrl-C, or SIGTERM, when :func:`run` handles signals):

1. the planner stops scheduling and the transfers in flight finish;
2. the planner delivers what Buffers still hold (:mod:`databay.support.flushing`);
3. ``on_shutdown`` runs for every inlet and outlet.

All of it must be done within ``shutdown_timeout`` seconds; past that, or on a second
signal, the process exits at once with status 1 (:data:`EXIT_FORCED`), whatever is
still running.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from databay.base_planner import BasePlanner
    from databay.link import Link
    from databay.pipeline.model import Pipeline
    from databay.run.stats import TransferStats

_LOGGER = logging.getLogger("databay.pipeline")
EXIT_FORCED = 1
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True)
class RunResult:
    """How :func:`run` ended.

    :param stopped_by: the name of the signal that stopped it (``"SIGTERM"``), or
        ``None`` when it stopped otherwise: after an error the planner does not ignore, or
        by ``pipeline.planner.shutdown()`` from your code.
    """

    stopped_by: str | None


@dataclass(frozen=True)
class OnceResult:
    """What :func:`run_once` did: each link's transfer stats, or the exception it raised."""

    outcomes: dict[Link, TransferStats | Exception] = field(default_factory=dict)

    @property
    def failed(self) -> list[Link]:
        """The links whose transfer (or start, or Buffer flush) raised."""
        return [link for link, outcome in self.outcomes.items() if isinstance(outcome, Exception)]


def force_exit(reason: str) -> None:
    """Log ``reason`` and leave the process now with :data:`EXIT_FORCED`, running nothing more."""
    _LOGGER.critical("%s", reason)
    for handler in logging.getLogger("databay").handlers:
        handler.flush()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(EXIT_FORCED)


class GracefulStop:
    """Stops gracefully on the first request (or signal), forces the exit on the second.

    :param stop: what stopping gracefully means; called once, in a helper thread.
    :param timeout: seconds the graceful stop may take before the exit is forced
        (``None``: no limit).
    """

    def __init__(self, stop: Callable[[], None], timeout: float | None):
        self._stop = stop
        self._timeout = timeout
        self._lock = threading.Lock()
        self._watchdog: threading.Timer | None = None
        self.reason: str | None = None

    def request(self, reason: str = "request") -> None:
        """Stop gracefully; if already stopping, force the exit."""
        with self._lock:
            first = self.reason is None
            if first:
                self.reason = reason
        if not first:
            force_exit(f"{reason} again: forcing the exit")
        _LOGGER.warning("%s: shutting down gracefully (send it again to force the exit)", reason)
        if self._timeout is not None:
            self._watchdog = threading.Timer(
                self._timeout, force_exit, [f"shutdown took longer than {self._timeout:g}s: forcing the exit"])
            self._watchdog.daemon = True
            self._watchdog.start()
        threading.Thread(target=self._stop, name="databay-shutdown", daemon=True).start()

    def done(self) -> None:
        """The stop completed: the watchdog has nothing more to watch."""
        if self._watchdog is not None:
            self._watchdog.cancel()

    @contextmanager
    def signals(self, install: bool = True) -> Iterator[GracefulStop]:
        """Route SIGINT and SIGTERM to :meth:`request` while inside (main thread only)."""
        if not install or threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous = {sig: signal.getsignal(sig) for sig in SIGNALS}
        for sig in SIGNALS:
            signal.signal(sig, lambda signum, frame: self.request(signal.Signals(signum).name))
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


@contextmanager
def observed_by(notifiers: list) -> Iterator[None]:
    """Let ``notifiers`` (notifiers and services) observe the run while inside; then stop
    them, closing those that can be closed (a :class:`~databay.notifier.Notifier` sends what
    it still holds, a service releases its port)."""
    from databay.observers import add_observer, remove_observer

    for notifier in notifiers:
        add_observer(notifier)
    try:
        yield
    finally:
        for notifier in notifiers:
            remove_observer(notifier)
            close = getattr(notifier, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:  # noqa: BLE001 - one notifier must not stop the others closing
                    _LOGGER.exception("Closing %s failed", notifier)


def _shutdown_when_running(planner: BasePlanner, finished: threading.Event) -> None:
    # A signal may come while the planner is still starting: wait until it runs (or ended).
    while not planner.running and not finished.wait(0.02):
        pass
    if not finished.is_set():
        planner.shutdown(wait=True)


def run(pipeline: Pipeline, handle_signals: bool = True, shutdown_timeout: float | None = 30.0) -> RunResult:
    """Start ``pipeline``'s planner and block until it stops.

    Its services are prepared first (a :class:`~databay.errors.ServiceError` raised there
    stops it before the planner starts), run on the planner's loop, and are closed at the end.

    :param handle_signals: stop gracefully on SIGINT/SIGTERM and force the exit on a
        second one (only from the main thread). Without it, stop the pipeline with
        ``pipeline.planner.shutdown()`` from another thread.
    :param shutdown_timeout: seconds a graceful stop may take before the exit is forced.
    """
    planner = pipeline.planner
    finished = threading.Event()
    stopper = GracefulStop(lambda: _shutdown_when_running(planner, finished), shutdown_timeout)
    with stopper.signals(handle_signals), observed_by([*pipeline.notifiers, *pipeline.services]):
        for service in pipeline.services:
            service.prepare(pipeline)
        try:
            planner.start()
        except KeyboardInterrupt:  # the planner's own Ctrl-C handling (signals not ours)
            stopper.reason = stopper.reason or "SIGINT"
        finally:
            finished.set()
            stopper.done()
    return RunResult(stopper.reason)


def run_once(pipeline: Pipeline, handle_signals: bool = True, shutdown_timeout: float | None = 30.0) -> OnceResult:
    """Transfer every link of ``pipeline`` once, concurrently, then stop; the planner is not used.

    ``on_start`` runs first, then one transfer per link, then Buffers are flushed and
    ``on_shutdown`` runs. A signal lets the transfers in flight finish (within
    ``shutdown_timeout``); a second one forces the exit.
    """
    stopper = GracefulStop(lambda: None, shutdown_timeout)
    with stopper.signals(handle_signals), observed_by(pipeline.notifiers):
        try:
            return OnceResult(asyncio.run(_once(pipeline)))
        finally:
            stopper.done()


async def _once(pipeline: Pipeline) -> dict[Link, TransferStats | Exception]:
    from databay.run import nodes
    from databay.run.flushing import flush_buffers_async
    from databay.run.runtime import Runtime
    from databay.run.transfer import run_transfer

    links = pipeline.links
    outcomes: dict[Link, TransferStats | Exception] = {}
    executor = ThreadPoolExecutor(min(32, len(links) + 4), thread_name_prefix="databay-once")
    runtime = Runtime(executor)
    try:
        started = []
        for link in links:
            try:
                await nodes.start(link)
                started.append(link)
            except Exception as exc:  # noqa: BLE001 - reported for this link, the others go on
                _LOGGER.error("%s: on_start failed: %s", pipeline.label(link), exc, exc_info=exc)
                outcomes[link] = exc
        results = await asyncio.gather(*(run_transfer(link, runtime) for link in started), return_exceptions=True)
        for link, result in zip(started, results):
            if isinstance(result, BaseException) and not isinstance(result, Exception):
                raise result
            if isinstance(result, Exception):
                _LOGGER.error("%s: transfer failed: %s", pipeline.label(link), result, exc_info=result)
            outcomes[link] = result
        for link, result in (await flush_buffers_async(started, runtime)).items():
            if isinstance(result, Exception):
                outcomes[link] = result
        for link in links:
            try:
                await nodes.shut_down(link)
            except Exception as exc:  # noqa: BLE001
                _LOGGER.error("%s: on_shutdown failed: %s", pipeline.label(link), exc, exc_info=exc)
    finally:
        executor.shutdown(wait=True)
    return outcomes
