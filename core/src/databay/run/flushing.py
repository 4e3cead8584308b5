"""Deliver what stateful processors still hold when links stop, instead of dropping it.

A :class:`~databay.processors.StatefulProcessor` (a :class:`~databay.support.buffers.Buffer`)
releases records only when its own rules say so, so when a planner stops, one may still
hold records that its link already pulled. :func:`flush_buffers` delivers them: for every
link whose stateful processors (among the link's processors and its outlets' processors)
hold records, it asks each of them to flush (``request_flush()``) and runs one transfer
that pulls nothing, so the records go through the rest of the link (groupers, outlet
processors) to the outlets as usual.

Planners do this by themselves between stopping their transfers and ``on_shutdown`` (see
:attr:`BasePlanner.flush_buffers_on_shutdown <databay.base_planner.BasePlanner>`); call
it yourself when you drive ``Link.transfer()`` without a planner. Links or outlets that
have no ``processors`` (test doubles, duck-typed objects) hold nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from databay.processors import StatefulProcessor, stateful_processors
from databay.run.runtime import STANDALONE
from databay.run.transfer import run_transfer
from databay.thread_loop import run_in_thread_loop

if TYPE_CHECKING:
    from databay.run.runtime import Runtime
    from databay.run.stats import TransferStats

__all__ = ["buffers_of", "flush_buffers", "flush_buffers_async", "holds_records"]

_LOGGER = logging.getLogger("databay.flushing")


def buffers_of(link: Any) -> list[StatefulProcessor]:
    """The stateful processors (Buffers among them) of ``link`` and of its outlets."""
    processors = list(getattr(link, "processors", None) or ())
    for outlet in getattr(link, "outlets", None) or ():
        processors.extend(getattr(outlet, "processors", None) or ())
    return stateful_processors(processors)


def holds_records(link: Any) -> bool:
    """Whether one of ``link``'s stateful processors holds records."""
    return any(processor.held() for processor in buffers_of(link))


async def flush_buffers_async(links: Iterable[Any], runtime: Runtime) -> dict[Any, TransferStats | Exception]:
    """Flush the stateful processors of ``links`` with one transfer each (concurrently), on ``runtime``.

    Only links whose processors hold records transfer. Returns what each of those
    transfers gave: its stats, or the exception it raised (which is also logged).
    """
    holding = [link for link in links if holds_records(link)]
    held = {link: sum(len(processor.held()) for processor in buffers_of(link)) for link in holding}
    for link in holding:
        for processor in buffers_of(link):
            processor.request_flush()
    results = await asyncio.gather(*(run_transfer(link, runtime, pull=False) for link in holding),
                                   return_exceptions=True)
    outcome: dict[Any, TransferStats | Exception] = {}
    for link, result in zip(holding, results):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
        if isinstance(result, Exception):
            _LOGGER.error("Flushing the buffers of %s failed: %s", link, result, exc_info=result)
        else:
            _LOGGER.info("Flushed the buffers of %s: they held %d record(s)", link, held[link])
        outcome[link] = result
    return outcome


def flush_buffers(links: Iterable[Any]) -> dict[Any, TransferStats | Exception]:
    """Flush the stateful processors of ``links`` from synchronous code; see :func:`flush_buffers_async`.

    Run it when no planner transfers these links any more.
    """
    return run_in_thread_loop(flush_buffers_async(list(links), STANDALONE))
