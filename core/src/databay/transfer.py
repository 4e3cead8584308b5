"""One transfer of a link: pull, process, group, copy and push.

This is the hot path. It runs as a coroutine on whatever loop the caller owns (a
planner's loop, or a thread's private loop for ``Link.transfer()``); synchronous pulls
and pushes go through the :class:`~databay.runtime.Runtime` so they never block a
planner's loop.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from databay import observers
from databay.copying import copy_records
from databay.update import Update

if TYPE_CHECKING:
    from databay.inlet import Inlet
    from databay.link import Link
    from databay.outlet import Outlet
    from databay.record import Record
    from databay.runtime import Runtime

_LOGGER = logging.getLogger("databay.Link")


@dataclass(frozen=True)
class TransferStats:
    """What one transfer did: its update, records pulled and pushed, and its duration."""

    update: Update
    records_pulled: int
    records_pushed: int
    duration: float


async def run_transfer(link: Link, runtime: Runtime, pull: bool = True) -> TransferStats:
    """Run one transfer of ``link``; raise on failure unless it ignores exceptions.

    With ``pull=False`` the inlets are not asked for anything: the transfer starts with no
    records and only pushes what processors release (see :mod:`databay.support.flushing`).
    """
    update = Update(link._tags, next(link._counter))
    started = time.perf_counter()
    _LOGGER.debug("%s transfer", update)
    notify = observers.current()
    if notify is not None:
        notify.transfer_started(link=link, update=update)
    try:
        # With thousands of links due at once every step per transfer counts: the
        # common links take short cuts (one trip to the pool, fewer coroutines).
        inlets = link._inlets
        outlets = link._outlets
        if (
            pull and len(inlets) == 1 and len(outlets) == 1 and not link.processors and not link.groupers
            and not inlets[0]._uses_coroutine and not outlets[0]._uses_coroutine
        ):
            # All synchronous: pull and push in one trip to the thread pool, not two.
            pulled, pushed = await runtime.run_sync(
                _pull_and_push, link, inlets[0], outlets[0], update, alone=True
            )
        else:
            pulled, pushed = await _pull_process_push(link, update, runtime, pull)
    except Exception as exc:
        if notify is not None:
            notify.transfer_failed(link=link, update=update, exception=exc)
        raise
    return _finished(link, update, started, pulled, pushed, notify)


async def _pull_process_push(link: Link, update: Update, runtime: Runtime, pull: bool) -> tuple[int, int]:
    """Pull from every inlet, process, group and push to every outlet: ``(pulled, pushed)``."""
    inlets = link._inlets
    outlets = link._outlets
    if not pull:
        records = []
    elif len(inlets) == 1:
        records = await _pull_one(link, inlets[0], update, runtime, alone=True)
    else:
        records = await _pull_all(link, update, runtime)
    pulled = len(records)
    if link.processors:
        records = _apply(link, link.processors, records, update, "Processor")
    batches = _apply(link, link.groupers, [records], update, "Grouper") if link.groupers else [records]
    pushed = 0
    # An empty batch means "nothing to consume", unless an outlet's own processors (a
    # Buffer being flushed or timed out) may still release records from it.
    if len(outlets) == 1:
        outlet_processors = bool(outlets[0].processors)
    else:
        outlet_processors = any(outlet.processors for outlet in outlets)
    for batch in batches:
        if batch or outlet_processors:
            if len(outlets) == 1:  # what _push_all does for one outlet
                delivery = list(batch) if link._copy_records else batch
                await _push_one(link, outlets[0], delivery, update, runtime, alone=True)
            else:
                await _push_all(link, batch, update, runtime)
            pushed += len(batch)
    return pulled, pushed


def _finished(link: Link, update: Update, started: float, pulled: int, pushed: int, notify) -> TransferStats:
    stats = TransferStats(update, pulled, pushed, time.perf_counter() - started)
    _LOGGER.debug("%s done", update)
    if notify is not None:
        notify.transfer_finished(link=link, update=update, stats=stats)
    return stats


def _pull_and_push(link: Link, inlet: Inlet, outlet: Outlet, update: Update) -> tuple[int, int]:
    """The whole transfer of a link with one synchronous inlet and one synchronous outlet
    (and no link processors or groupers), as :func:`run_transfer` would run it."""
    try:
        records = inlet._as_records(inlet.pull(update))
    except Exception as exc:
        if not link._ignore_exceptions:
            raise
        _LOGGER.exception(f'Inlet exception: "{exc}" for inlet: {inlet}, in: {link}, during: {update}')
        records = []
    if not records and not outlet.processors:
        return 0, 0
    try:
        _process_and_push(outlet, list(records) if link._copy_records else records, update)
    except Exception as exc:
        if not link._ignore_exceptions:
            raise
        _LOGGER.exception(f'Outlet exception: "{exc}" for outlet: {outlet}, in link: {link}, during: {update}')
    return len(records), len(records)


async def _pull_all(link: Link, update: Update, runtime: Runtime) -> list[Record]:
    inlets = link._inlets
    if len(inlets) == 1:
        return await _pull_one(link, inlets[0], update, runtime, alone=True)
    if not inlets:
        return []
    limit = link.inlet_concurrency
    if limit < len(inlets):
        semaphore = asyncio.Semaphore(limit)

        async def limited(inlet: Inlet) -> list[Record]:
            async with semaphore:
                return await _pull_one(link, inlet, update, runtime, alone=False)

        results = await asyncio.gather(*(limited(inlet) for inlet in inlets))
    else:
        results = await asyncio.gather(
            *(_pull_one(link, inlet, update, runtime, alone=False) for inlet in inlets)
        )
    records: list[Record] = []
    for result in results:
        records.extend(result)
    return records


async def _pull_one(
    link: Link, inlet: Inlet, update: Update, runtime: Runtime, alone: bool
) -> list[Record]:
    try:
        if inlet._uses_coroutine:
            data = await inlet.pull(update)
        else:
            data = await runtime.run_sync(inlet.pull, update, alone=alone)
        return inlet._as_records(data)
    except Exception as exc:
        if not link._ignore_exceptions:
            raise
        _LOGGER.exception(f'Inlet exception: "{exc}" for inlet: {inlet}, in: {link}, during: {update}')
        return []


def _apply(link: Link, steps: list, data: Any, update: Update, label: str) -> Any:
    for step in steps:
        try:
            data = step(data)
        except Exception as exc:
            if not link._ignore_exceptions:
                raise
            _LOGGER.exception(
                f'{label} exception: "{exc}" for {label.lower()}: {step}, in: {link}, during: {update}'
            )
    return data


async def _push_all(link: Link, batch: list[Record], update: Update, runtime: Runtime) -> None:
    outlets = link._outlets
    if not outlets:
        return
    last = len(outlets) - 1
    if link._copy_records:
        # Each outlet must see records no other outlet can touch: all but the last get
        # copies, the last gets the originals (nobody else holds them any more).
        deliveries = [copy_records(batch) for _ in range(last)]
        deliveries.append(list(batch))
    else:
        deliveries = [batch] * len(outlets)
    if last == 0:
        await _push_one(link, outlets[0], deliveries[0], update, runtime, alone=True)
    else:
        # Without a pool of its own (Link.transfer() outside a planner) the loop has
        # nothing else to do while synchronous outlets push: the last one may push on it,
        # concurrently with the others in the pool, saving a trip to the pool.
        inline_last = not any(outlet._uses_coroutine for outlet in outlets)
        await asyncio.gather(
            *(
                _push_one(link, outlet, records, update, runtime, alone=inline_last and index == last)
                for index, (outlet, records) in enumerate(zip(outlets, deliveries))
            )
        )


def _process_and_push(outlet: Outlet, records: list[Record], update: Update) -> None:
    records = outlet._process(records)
    if records:  # outlets are never called with nothing to consume
        outlet.push(records, update)


async def _push_one(
    link: Link, outlet: Outlet, records: list[Record], update: Update, runtime: Runtime, alone: bool
) -> None:
    try:
        if outlet._uses_coroutine:
            records = outlet._process(records)
            if records:
                await outlet.push(records, update)
        else:
            await runtime.run_sync(_process_and_push, outlet, records, update, alone=alone)
    except Exception as exc:
        if not link._ignore_exceptions:
            raise
        _LOGGER.exception(f'Outlet exception: "{exc}" for outlet: {outlet}, in link: {link}, during: {update}')
