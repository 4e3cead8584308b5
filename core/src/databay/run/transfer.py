"""One transfer of a link: what every transfer shares, whichever delivery it takes.

A transfer gets the link's next :class:`~databay.update.Update`, tells the observers it
started, runs plain or staged delivery (:mod:`~databay.run.plain`,
:mod:`~databay.run.staged`), then tells them it finished (with its
:class:`~databay.run.stats.TransferStats`) or failed. It runs as a coroutine on whatever
loop the caller owns: a planner's loop, or a thread's own loop for ``Link.transfer()``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from time import perf_counter
from typing import TYPE_CHECKING, Any

from databay import observers
from databay.run import plain, staged
from databay.run.state import state_of
from databay.run.stats import TransferStats
from databay.update import Update

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings
    from databay.run.runtime import Runtime
    from databay.run.state import LinkState

__all__ = ["TransferStats", "quiet", "run_transfer", "scheduled_transfer"]

_LOGGER = logging.getLogger("databay.Link")
_DEBUG = logging.DEBUG


def quiet() -> bool:
    """Whether no observer listens and debug logging is off: transfers then tell nobody."""
    return observers.current() is None and not _LOGGER.isEnabledFor(_DEBUG)


def scheduled_transfer(link: LinkSettings, runtime: Runtime, state: LinkState,
                       on_error: Callable[[Exception, Any], None], quiet: bool, slot: Any) -> Coroutine[Any, Any, Any]:
    """The coroutine of one transfer the engine scheduled: :func:`run_transfer` with
    ``on_error`` (its result is not read), ``quiet`` as for it; ``slot`` is the engine's
    (see :func:`plain.deliver_pair <databay.run.plain.deliver_pair>`).

    When quiet, the transfer of an asynchronous one-inlet, one-outlet link taking the
    short cut is :func:`plain.deliver_pair <databay.run.plain.deliver_pair>` alone: with no
    observer, no debug log and no stats to make, the envelope has nothing to do but number
    the transfer, and one coroutine instead of two saves ~0.4 us of the ~5 us a transfer
    costs when thousands fall due at once. Its :class:`Update` is then made with its task.
    """
    if quiet:
        plan = state.plan(link)
        if plan.stage is None and plain.short_cut(link, plan) == "async":
            update = Update(plan.tags, next(state.counter))
            return plain.deliver_pair(link, plan.inlets[0], plan.outlets[0], update, on_error, slot)
    return run_transfer(link, runtime, True, state, on_error, quiet)


async def run_transfer(link: LinkSettings, runtime: Runtime, pull: bool = True,
                       state: LinkState | None = None,
                       on_error: Callable[[Exception, Any], None] | None = None,
                       quiet: bool = False) -> TransferStats:
    """Run one transfer of ``link``; raise on failure unless it ignores exceptions.

    With ``pull=False`` the inlets are not asked for anything: the transfer starts with no
    records and only pushes what stateful processors release (see :mod:`~databay.run.flushing`).
    ``state`` is the link's :class:`~databay.run.state.LinkState` when the caller has it.
    With ``on_error`` (the engine's scheduled transfers, whose result nobody reads), a
    failure is handed to ``on_error(exception, link)`` (after the observers heard of it)
    instead of raised, and the transfer returns ``None``; its stats are made only for the
    observers. ``quiet`` says the caller just found that no observer listens and debug
    logging is off (the engine asks once for a batch of transfers).
    """
    # The hot path of a planner with thousands of links due at once: kept lean.
    if state is None:
        state = state_of(link)
    plan = state.plan(link)
    update = Update(plan.tags, next(state.counter))
    notify = None if quiet else observers.current()
    timed = notify is not None or on_error is None  # are stats wanted?
    started = perf_counter() if timed else 0.0
    debug = not quiet and _LOGGER.isEnabledFor(_DEBUG)
    if debug:
        _LOGGER.debug("%s transfer", update)
    if notify is not None:
        notify.transfer_started(link=link, update=update)
    dead = 0
    try:
        if plan.stage is None:
            pulled, pushed = await plain.deliver(link, plan, update, runtime, pull)
        else:
            staging = staged.staging_of(link, state)
            assert staging is not None  # the link has a stage
            pulled, pushed, dead = await staged.deliver(link, plan, staging, update, runtime, pull)
    except Exception as exc:
        if notify is not None:
            notify.transfer_failed(link=link, update=update, exception=exc)
        if on_error is None:
            raise
        on_error(exc, link)
        return None  # type: ignore[return-value]  # only with on_error
    if debug:
        _LOGGER.debug("%s done", update)
    if not timed:
        return None  # type: ignore[return-value]  # with on_error and no observer: nobody reads them
    stats = TransferStats(update, pulled, pushed, perf_counter() - started, dead)
    if notify is not None:
        notify.transfer_finished(link=link, update=update, stats=stats)
    return stats
