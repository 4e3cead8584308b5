"""The :class:`EnginePlanner`: a planner whose links run on the run layer's engine.

It is what :class:`~databay.planners.SchedulePlanner` and plugin planners such as
databay-aps's ``ApsPlanner`` share: one event loop in the thread that calls ``start()``,
one bounded thread pool for synchronous pulls and pushes, ``on_start``/``on_shutdown``
awaited on that loop once per node, graceful shutdown from any thread (and on Ctrl-C),
and exceptions handled per ``ignore_exceptions``. Subclasses only decide *when*
transfers are due: either the engine's own timers (``timers=True``), or a scheduler of
their own that they start in :meth:`EnginePlanner.on_loop_started`, stop in
:meth:`EnginePlanner.on_loop_stopped`, and whose jobs run ``await self.transfer_due(link)``.

Links are run from their settings, except those whose ``transfer()``, ``on_start()`` or
``on_shutdown()`` are not :class:`~databay.link.Link`'s own (a subclass overriding them,
a test double): the planner calls those methods.
"""

from __future__ import annotations

import datetime
import logging
import warnings
from typing import Union

from databay.base_planner import BasePlanner
from databay.errors import MissingLinkError
from databay.link import Link, is_plain_link
from databay.observers import notify_planner
from databay.run.engine import Engine
from databay.run.flushing import flush_buffers_async
from databay.run.stats import TransferStats

__all__ = ["EnginePlanner"]

_LOGGER = logging.getLogger("databay.BasePlanner")


class EnginePlanner(BasePlanner):
    """Base class of planners running their links on one event loop (see the module doc).

    Subclasses that keep their own job objects override :meth:`schedule` and
    :meth:`unschedule` and call ``super()`` (which registers the link with the engine).

    :param links: Links that should be added and scheduled.
    :param threads: Number of threads for synchronous pulls and pushes.
    :param ignore_exceptions: Whether exceptions should be ignored, or halt the planner.
    :param catch_exceptions: deprecated alias of ``ignore_exceptions``.
    :param immediate_transfer: Whether to transfer every link once upon starting.
    :param shutdown_at_exit: Whether to shut down gracefully when the process exits.
    :param timers: whether the engine times transfers itself (``True``), or the
        subclass's own scheduler does, calling :meth:`transfer_due` (``False``).
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
        self._engine = Engine(threads, lambda exception, link: self._on_exception(exception, link), timers=timers)
        if catch_exceptions is not None:
            warnings.warn(
                "'catch_exceptions' was renamed to 'ignore_exceptions'.", DeprecationWarning, stacklevel=3
            )
            ignore_exceptions = catch_exceptions
        self._announced = False  # databay_planner_started was called for this run
        super().__init__(links, ignore_exceptions, immediate_transfer, shutdown_at_exit)

    @property
    def threads(self) -> int:
        """Size of the thread pool for synchronous pulls and pushes."""
        return self._threads

    @property
    def running(self) -> bool:
        """Whether this planner is running: from the moment :meth:`start` is called until
        shutdown completes."""
        return self._engine.running

    # -- extension points ----------------------------------------------------------

    def schedule(self, link: Link) -> None:
        """Register ``link`` with the engine (override to add a job of your own, calling
        ``super().schedule(link)``).

        :raises ValueError: the link's interval is not positive.
        """
        self._engine.schedule(link, direct=is_plain_link(link))

    def unschedule(self, link: Link) -> None:
        """Remove ``link`` from the engine; a transfer of it in flight finishes."""
        self._engine.unschedule(link)

    def start_planner(self) -> None:
        """Run the loop until shutdown (blocking): ``on_start`` of every link, then
        :meth:`on_loop_started`, then transfers."""
        self._engine.run(
            before=self._before_transfers,
            immediate=lambda link: self.immediate_transfer and link.immediate_transfer,
            after=self._after_transfers,
        )

    def shutdown_planner(self, wait: bool = True) -> None:
        """Ask the loop to stop; with ``wait``, transfers in flight finish first."""
        self._engine.stop(wait)

    def on_loop_started(self) -> None:
        """Called on the loop after every ``on_start``, before any transfer (unless the
        planner is already stopping). Start an external scheduler here."""

    def on_loop_stopped(self) -> None:
        """Called on the loop once the transfers in flight finished (or were cancelled),
        before any ``on_shutdown``. Stop an external scheduler here."""

    async def transfer_due(self, link: Link) -> TransferStats | None:
        """Run a due transfer of ``link`` now, in the calling task, on the planner's loop
        (for planners with ``timers=False``, from their scheduler's jobs).

        Returns ``None`` without transferring while a transfer of the link is still in
        flight (counted by :meth:`skipped_transfers`), when the link is not scheduled, or
        when the planner is stopping. A failure goes to :meth:`on_exception` (``None``).
        The calling task counts as in flight: ``shutdown(wait=True)`` waits for it,
        ``wait=False`` cancels it; so call it from a task that ends with the transfer.
        """
        return await self._engine.transfer_due(link)

    def skipped_transfers(self, link: Link) -> int:
        """How many due transfers of ``link`` were skipped because one was still running."""
        return self._engine.skipped_transfers(link)

    def pause_link(self, link: Link) -> None:
        """Pause ``link``: its due times pass without a transfer until :meth:`resume_link`
        (a transfer in flight finishes; ``Link.transfer()`` still works). It keeps its place
        on its schedule, so it resumes on its own grid. Safe from any thread.

        :raises MissingLinkError: the planner does not contain ``link``.
        """
        self._engine.pause(self._scheduled(link), True)

    def resume_link(self, link: Link) -> None:
        """Resume a link paused with :meth:`pause_link`: its next due time transfers again."""
        self._engine.pause(self._scheduled(link), False)

    def link_paused(self, link: Link) -> bool:
        """Whether ``link`` is paused (see :meth:`pause_link`)."""
        return self._engine.is_paused(link)

    def _scheduled(self, link: Link) -> Link:
        if not any(link is known for known in self._links):
            raise MissingLinkError(f"Planner does not contain the link: {link}")
        return link

    def next_due(self, link: Link) -> float | None:
        """When ``link``'s next transfer is due, in ``time.monotonic()`` seconds, while the
        planner runs and times it itself (``None`` otherwise, e.g. for a planner with
        ``timers=False``, whose scheduler knows)."""
        return self._engine.next_due(link)

    def next_due_at(self, link: Link) -> datetime.datetime | None:
        """When ``link``'s next transfer is due, as an aware UTC datetime, while the
        planner runs (``None`` otherwise). A planner with ``timers=False`` overrides it
        with what its scheduler knows (``ApsPlanner`` does)."""
        due = self._engine.next_due_wall(link)
        return None if due is None else datetime.datetime.fromtimestamp(due, datetime.UTC)

    # databay's earlier names of the loop's extension points; the planner calls these.
    def _on_loop_started(self) -> None:
        self.on_loop_started()

    def _on_loop_stopped(self) -> None:
        self.on_loop_stopped()

    # -- starting and stopping -------------------------------------------------------

    def start(self) -> None:
        """Start this planner and block until it is shut down.

        ``running`` is true from the moment this is called, and a :meth:`shutdown` from
        then on stops the planner as soon as it is up. ``on_start`` of every node, then
        the immediate transfers, then scheduled transfers all run on the planner's loop.
        Ctrl-C shuts down gracefully (transfers in flight finish, Buffers are flushed,
        ``on_shutdown`` runs) and then raises ``KeyboardInterrupt``.
        """
        self._engine.claim()
        try:
            _LOGGER.info("Starting %s", self)
            self._start_planner()
        finally:
            self._engine.release_claim()

    async def _before_transfers(self) -> None:
        for link in list(self._links):
            try:
                await self._engine.start_link(link)
            except Exception as exc:
                error = RuntimeError(f'on_start link exception: "{exc}" for link: {link}')
                error.__cause__ = exc
                self._on_exception(error, link)
        if not self._engine.stopping:
            # Observers get onto the loop before any transfer can start (an external
            # scheduler starts in on_loop_started).
            self._announced = True
            await notify_planner("databay_planner_started", self)
        if not self._engine.stopping:
            self._on_loop_started()

    async def _after_transfers(self) -> None:
        try:
            self._on_loop_stopped()
        finally:
            try:
                runtime = self._engine.runtime
                if self.flush_buffers_on_shutdown and runtime is not None:
                    await flush_buffers_async(list(self._links), runtime)
                for link in list(self._links):
                    try:
                        await self._engine.shut_down_link(link)
                    except Exception as exc:
                        _LOGGER.exception(f'on_shutdown link exception: "{exc}" for link: {link}')
            finally:
                if self._announced:
                    self._announced = False
                    await notify_planner("databay_planner_stopped", self)

    def shutdown(self, wait: bool = True) -> None:
        """Stop scheduling; with ``wait``, let transfers in flight finish first.

        Safe from any thread, including from inside a transfer or a signal handler, and
        while the planner is still starting (it stops as soon as it is up).
        """
        if self._engine.in_own_thread() or self._engine.running:
            # The loop finishes the shutdown (flushing and on_shutdown included); from
            # outside, this waits for it (with ``wait``).
            _LOGGER.info("Shutting down %s", self)
            self._shutdown_planner(wait)
            return
        super().shutdown(wait)

    def on_exception(self, exception: Exception, link: Link | None = None) -> None:
        """Log ``exception``; unless ignoring exceptions, shut down gracefully.

        Unlike a plain ``shutdown(wait=False)``, the other links' transfers in flight
        finish before ``on_shutdown`` runs.
        """
        if self._ignore_exceptions or not self._engine.in_own_thread():
            super().on_exception(exception, link)
            return
        where = f"\n\nRaised when executing {link}" if link is not None else ""
        _LOGGER.error(f"{exception}{where}", exc_info=exception)
        _LOGGER.info("Shutting down %s", self)
        self._engine.stop(wait=True)
