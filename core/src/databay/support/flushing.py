"""Deliver what Buffers still hold when links stop, instead of dropping it.

A :class:`~databay.support.buffers.Buffer` releases records only when its controllers
agree, so when a planner stops, a Buffer may still hold records that its link already
pulled. :func:`flush_buffers` delivers them: for every link whose Buffers (among the
link's processors and its outlets' processors) hold records, it sets ``flush`` on each of
that link's Buffers and runs one transfer that pulls nothing, so the records go through
the rest of the link (groupers, outlet processors) to the outlets as usual.

Planners do this by themselves between stopping their transfers and ``on_shutdown`` (see
:attr:`BasePlanner.flush_buffers_on_shutdown <databay.base_planner.BasePlanner>`); call
it yourself when you drive ``Link.transfer()`` without a planner.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING

from databay.support.buffers import Buffer

if TYPE_CHECKING:
    from databay.link import Link
    from databay.runtime import Runtime
    from databay.transfer import TransferStats

__all__ = ["buffers_of", "flush_buffers", "flush_buffers_async", "holds_records"]

_LOGGER = logging.getLogger("databay.flushing")


def buffers_of(link: Link) -> list[Buffer]:
    """The Buffers among ``link``'s processors and its outlets' processors."""
    processors = [*link.processors, *(p for outlet in link.outlets for p in outlet.processors)]
    return [p for p in processors if isinstance(p, Buffer)]


def holds_records(link: Link) -> bool:
    """Whether one of ``link``'s Buffers holds records."""
    return any(buffer.records for buffer in buffers_of(link))


async def flush_buffers_async(links: Iterable[Link], runtime: Runtime) -> dict[Link, TransferStats | Exception]:
    """Flush the Buffers of ``links`` with one transfer each (concurrently), on ``runtime``.

    Only links whose Buffers hold records transfer. Returns what each of those transfers
    gave: its stats, or the exception it raised (which is also logged).
    """
    from databay.transfer import run_transfer

    holding = [link for link in links if holds_records(link)]
    held = {link: sum(len(buffer.records) for buffer in buffers_of(link)) for link in holding}
    for link in holding:
        for buffer in buffers_of(link):
            buffer.flush = True
    results = await asyncio.gather(*(run_transfer(link, runtime, pull=False) for link in holding),
                                   return_exceptions=True)
    outcome: dict[Link, TransferStats | Exception] = {}
    for link, result in zip(holding, results):
        if isinstance(result, BaseException) and not isinstance(result, Exception):
            raise result
        if isinstance(result, Exception):
            _LOGGER.error("Flushing the buffers of %s failed: %s", link, result, exc_info=result)
        else:
            _LOGGER.info("Flushed the buffers of %s: they held %d record(s)", link, held[link])
        outcome[link] = result
    return outcome


def flush_buffers(links: Iterable[Link]) -> dict[Link, TransferStats | Exception]:
    """Flush the Buffers of ``links`` from synchronous code; see :func:`flush_buffers_async`.

    Run it when no planner transfers these links any more.
    """
    from databay.runtime import STANDALONE, run_standalone

    return run_standalone(flush_buffers_async(list(links), STANDALONE))
