"""The :class:`SchedulePlanner`: the default planner, on the ``schedule`` library's jobs."""

from __future__ import annotations

import logging
import warnings
from typing import Union

import schedule

from databay.base_planner import BasePlanner
from databay.engine import Engine
from databay.link import Link

_LOGGER = logging.getLogger("databay.SchedulePlanner")


class ScheduleIntervalError(Exception):
    """Raised by databay 0.3 when a link interval was below the refresh interval.

    Kept for compatibility: this planner runs transfers at their due times whatever the
    refresh interval, so it no longer raises it.
    """


class SchedulePlanner(BasePlanner):
    """Planner scheduling links on their intervals; a link's job is a ``schedule.Job``.

    Each planner has its own ``schedule.Scheduler`` holding one job per link, and one
    event loop (the engine) that runs every transfer at its due time: no polling, no
    drift, and a link's transfers never overlap. Asynchronous pulls and pushes run on the
    loop; synchronous ones in a pool of ``threads`` threads. :meth:`start` blocks until
    :meth:`shutdown`.

    :param links: Links that should be added and scheduled.
    :param threads: Number of threads for synchronous pulls and pushes. Default ``30``.
    :param refresh_interval: Accepted for compatibility; transfers no longer wait for it.
    :param ignore_exceptions: Whether exceptions should be ignored, or halt the planner.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: Whether to transfer every link once upon starting.
    :param shutdown_at_exit: Whether to shut down gracefully when the process exits.
    """

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        refresh_interval: float = 1.0,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
    ):
        if not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive int, found: {threads!r}")
        self._threads = threads
        self._refresh_interval = refresh_interval
        self._scheduler = schedule.Scheduler()
        self._engine = Engine(threads, self._on_exception)
        if catch_exceptions is not None:
            warnings.warn(
                "'catch_exceptions' was renamed to 'ignore_exceptions'.", DeprecationWarning, stacklevel=2
            )
            ignore_exceptions = catch_exceptions
        super().__init__(links, ignore_exceptions, immediate_transfer, shutdown_at_exit)

    @property
    def refresh_interval(self) -> float:
        """The refresh interval given on construction (no longer limits link intervals)."""
        return self._refresh_interval

    @property
    def threads(self) -> int:
        """Size of the thread pool for synchronous pulls and pushes."""
        return self._threads

    @property
    def running(self) -> bool:
        """Whether this planner is running: from :meth:`start` until shutdown completes."""
        return self._engine.running

    def _schedule(self, link: Link) -> None:
        job = self._scheduler.every(link.interval.total_seconds()).seconds.do(link.transfer)
        link.set_job(job)
        self._engine.schedule(link)

    def _unschedule(self, link: Link) -> None:
        self._engine.unschedule(link)
        if link.job is not None:
            self._scheduler.cancel_job(link.job)
            link.set_job(None)

    def start(self) -> None:
        """Start this planner and block until it is shut down.

        ``on_start`` of every node, then the immediate transfers, then scheduled
        transfers all run on the planner's loop. Ctrl-C shuts down gracefully (transfers
        in flight finish, Buffers are flushed, ``on_shutdown`` runs) and then raises
        ``KeyboardInterrupt``.
        """
        _LOGGER.info("Starting %s", self)
        self._start_planner()

    def _start_planner(self) -> None:
        self._engine.run(
            before=self._start_links,
            immediate=lambda link: self.immediate_transfer and link.immediate_transfer,
            after=self._shutdown_links,
        )

    async def _start_links(self) -> None:
        for link in list(self._links):
            try:
                await link._on_start_async()
            except Exception as exc:
                error = RuntimeError(f'on_start link exception: "{exc}" for link: {link}')
                error.__cause__ = exc
                self._on_exception(error, link)

    async def _shutdown_links(self) -> None:
        runtime = self._engine.runtime
        if self.flush_buffers_on_shutdown and runtime is not None:
            from databay.support.flushing import flush_buffers_async

            await flush_buffers_async(list(self._links), runtime)
        for link in list(self._links):
            try:
                await link._on_shutdown_async()
            except Exception as exc:
                _LOGGER.exception(f'on_shutdown link exception: "{exc}" for link: {link}')

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with ``wait``, let transfers in flight finish first.

        Safe from any thread, including from inside a transfer or a signal handler.
        """
        if self._engine.in_own_thread():
            # Called by a transfer or an exception handler on the loop: the loop finishes
            # the shutdown (on_shutdown included) once the current callbacks return.
            _LOGGER.info("Shutting down %s", self)
            self._engine.stop(wait)
            return
        super().shutdown(wait)

    def _on_exception(self, exception: Exception, link: Link | None = None) -> None:
        """Log ``exception``; unless ignoring exceptions, shut down gracefully.

        Unlike a plain ``shutdown(wait=False)``, the other links' transfers in flight
        finish before ``on_shutdown`` runs.
        """
        if self._ignore_exceptions or not self._engine.in_own_thread():
            super()._on_exception(exception, link)
            return
        where = f"\n\nRaised when executing {link}" if link is not None else ""
        _LOGGER.error(f"{exception}{where}", exc_info=exception)
        _LOGGER.info("Shutting down %s", self)
        self._engine.stop(wait=True)

    def _shutdown_planner(self, wait: bool = True) -> None:
        self._engine.stop(wait)

    def __repr__(self) -> str:
        return f"SchedulePlanner(threads:{self._threads}, refresh_interval:{self._refresh_interval})"
