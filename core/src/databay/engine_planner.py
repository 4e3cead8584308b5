"""The :class:`EnginePlanner`: a planner whose links run on a databay :class:`~databay.engine.Engine`.

It is what :class:`~databay.planners.SchedulePlanner` and plugin planners such as
databay-aps's ``ApsPlanner`` share: one event loop in the thread that calls ``start()``,
one bounded thread pool for synchronous pulls and pushes, ``on_start``/``on_shutdown``
awaited on that loop once per node, graceful shutdown from any thread (and on Ctrl-C),
and exceptions handled per ``ignore_exceptions``. Subclasses only decide *when*
transfers are due: either the engine's own timers (``timers=True``), or a scheduler of
their own that they start in :meth:`EnginePlanner._on_loop_started`, stop in
:meth:`EnginePlanner._on_loop_stopped`, and whose jobs run
``await self._engine.transfer_due(link)``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Union

from databay.base_planner import BasePlanner
from databay.engine import Engine
from databay.link import Link

_LOGGER = logging.getLogger("databay.BasePlanner")


class EnginePlanner(BasePlanner):
    """Base class of planners running their links on one event loop (see the module doc).

    Subclasses that keep their own job objects override :meth:`_schedule` and
    :meth:`_unschedule` and call ``super()`` (which registers the link with the engine).

    :param links: Links that should be added and scheduled.
    :param threads: Number of threads for synchronous pulls and pushes.
    :param ignore_exceptions: Whether exceptions should be ignored, or halt the planner.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: Whether to transfer every link once upon starting.
    :param shutdown_at_exit: Whether to shut down gracefully when the process exits.
    :param timers: whether the engine times transfers itself (see :class:`Engine`).
    """

    def __init__(
        self,
        links: Union[Link, list[Link], None] = None,
        threads: int = 30,
        ignore_exceptions: bool = False,
        catch_exceptions: bool | None = None,
        immediate_transfer: bool = True,
        shutdown_at_exit: bool = False,
        *,
        timers: bool = True,
    ):
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise ValueError(f"threads must be a positive int, found: {threads!r}")
        self._threads = threads
        self._engine = Engine(threads, self._on_exception, timers=timers)
        if catch_exceptions is not None:
            warnings.warn(
                "'catch_exceptions' was renamed to 'ignore_exceptions'.", DeprecationWarning, stacklevel=3
            )
            ignore_exceptions = catch_exceptions
        super().__init__(links, ignore_exceptions, immediate_transfer, shutdown_at_exit)

    @property
    def threads(self) -> int:
        """Size of the thread pool for synchronous pulls and pushes."""
        return self._threads

    @property
    def running(self) -> bool:
        """Whether this planner is running: from :meth:`start` until shutdown completes."""
        return self._engine.running

    def _schedule(self, link: Link) -> None:
        self._engine.schedule(link)

    def _unschedule(self, link: Link) -> None:
        self._engine.unschedule(link)

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
            before=self._before_transfers,
            immediate=lambda link: self.immediate_transfer and link.immediate_transfer,
            after=self._after_transfers,
        )

    async def _before_transfers(self) -> None:
        for link in list(self._links):
            try:
                await link._on_start_async()
            except Exception as exc:
                error = RuntimeError(f'on_start link exception: "{exc}" for link: {link}')
                error.__cause__ = exc
                self._on_exception(error, link)
        if not self._engine.stopping:
            self._on_loop_started()

    async def _after_transfers(self) -> None:
        try:
            self._on_loop_stopped()
        finally:
            await self._flush_buffers()
            for link in list(self._links):
                try:
                    await link._on_shutdown_async()
                except Exception as exc:
                    _LOGGER.exception(f'on_shutdown link exception: "{exc}" for link: {link}')

    async def _flush_buffers(self) -> None:
        """Deliver what Buffers still hold, before any ``on_shutdown``
        (see :attr:`~databay.base_planner.BasePlanner.flush_buffers_on_shutdown`)."""
        runtime = self._engine.runtime
        if self.flush_buffers_on_shutdown and runtime is not None:
            from databay.support.flushing import flush_buffers_async

            await flush_buffers_async(list(self._links), runtime)

    def _on_loop_started(self) -> None:
        """Called on the loop after every ``on_start``, before any transfer (unless the
        planner is already stopping). Start an external scheduler here."""

    def _on_loop_stopped(self) -> None:
        """Called on the loop once the transfers in flight finished (or were cancelled),
        before any ``on_shutdown``. Stop an external scheduler here."""

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
