"""What ``Link.transfer()``, ``Link.on_start()`` and ``Link.on_shutdown()`` do.

Outside a planner they run in the calling thread, on its own event loop. While an engine
schedules the link and runs, they run on the engine's loop instead (so that an async
inlet pulls on the loop its ``on_start`` opened its session on): a transfer asked for
from another thread waits for the link's transfer in flight, if any, and holds off the
next; inside a call the engine makes of the link's own method (a subclass's ``transfer()``
calling ``super().transfer()``), they run at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from databay import observers
from databay.run import nodes
from databay.run.engine import NOT_RUN
from databay.run.runtime import STANDALONE
from databay.run.state import state_of
from databay.run.transfer import run_transfer
from databay.thread_loop import run_in_thread_loop, thread_loop

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings
    from databay.run.stats import TransferStats

__all__ = ["shut_down", "start", "transfer", "warm_up"]

_warmed_up = False


def warm_up() -> None:
    """Set up now, once per process, what the first transfer would otherwise set up (the
    plugins' observers, which load the plugins) and this thread's loop: so the first
    ``Link.transfer()`` takes as long as the next ones. Called when a link is made."""
    global _warmed_up
    thread_loop()
    if _warmed_up:
        return
    _warmed_up = True
    try:
        observers.current()
    except Exception:  # noqa: BLE001 - a broken plugin is reported by the first transfer
        pass


def transfer(link: LinkSettings) -> TransferStats:
    """One transfer of ``link`` (see the module doc)."""
    engine = state_of(link).engine
    if engine is not None:
        stats = engine.run_for(link, lambda runtime: run_transfer(link, runtime), exclusive=True)
        if stats is not NOT_RUN:
            return stats
    return run_in_thread_loop(run_transfer(link, STANDALONE))


def start(link: LinkSettings) -> None:
    """Start ``link``'s nodes and open its stage (see the module doc)."""
    engine = state_of(link).engine
    if engine is None or engine.run_for(link, lambda runtime: nodes.start(link), exclusive=False) is NOT_RUN:
        nodes.start_now(link)


def shut_down(link: LinkSettings) -> None:
    """Shut ``link``'s nodes down and close its stage (see the module doc)."""
    engine = state_of(link).engine
    if engine is None or engine.run_for(link, lambda runtime: nodes.shut_down(link), exclusive=False) is NOT_RUN:
        nodes.shut_down_now(link)
