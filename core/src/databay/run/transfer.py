"""One transfer of a link: what every transfer shares, whichever delivery it takes.

A transfer gets the link's next :class:`~databay.update.Update`, tells the observers it
started, runs plain or staged delivery (:mod:`~databay.run.plain`,
:mod:`~databay.run.staged`), then tells them it finished (with its
:class:`~databay.run.stats.TransferStats`) or failed. It runs as a coroutine on whatever
loop the caller owns: a planner's loop, or a thread's own loop for ``Link.transfer()``.
"""

from __future__ import annotations

import logging
from time import perf_counter
from typing import TYPE_CHECKING

from databay import observers
from databay.run import plain, staged
from databay.run.state import state_of
from databay.run.stats import TransferStats
from databay.update import Update

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings
    from databay.run.runtime import Runtime
    from databay.run.state import LinkState

__all__ = ["TransferStats", "run_transfer"]

_LOGGER = logging.getLogger("databay.Link")
_DEBUG = logging.DEBUG


async def run_transfer(link: LinkSettings, runtime: Runtime, pull: bool = True,
                       state: LinkState | None = None) -> TransferStats:
    """Run one transfer of ``link``; raise on failure unless it ignores exceptions.

    With ``pull=False`` the inlets are not asked for anything: the transfer starts with no
    records and only pushes what stateful processors release (see :mod:`~databay.run.flushing`).
    ``state`` is the link's :class:`~databay.run.state.LinkState` when the caller has it.
    """
    # The hot path of a planner with thousands of links due at once: kept lean.
    if state is None:
        state = state_of(link)
    update = Update(link.tags, next(state.counter))
    started = perf_counter()
    debug = _LOGGER.isEnabledFor(_DEBUG)
    if debug:
        _LOGGER.debug("%s transfer", update)
    notify = observers.current()
    if notify is not None:
        notify.transfer_started(link=link, update=update)
    dead = 0
    try:
        plan = state.plan(link)
        if link.stage is None:
            pulled, pushed = await plain.deliver(link, plan, update, runtime, pull)
        else:
            staging = staged.staging_of(link, state)
            assert staging is not None  # the link has a stage
            pulled, pushed, dead = await staged.deliver(link, plan, staging, update, runtime, pull)
    except Exception as exc:
        if notify is not None:
            notify.transfer_failed(link=link, update=update, exception=exc)
        raise
    stats = TransferStats(update, pulled, pushed, perf_counter() - started, dead)
    if debug:
        _LOGGER.debug("%s done", update)
    if notify is not None:
        notify.transfer_finished(link=link, update=update, stats=stats)
    return stats
