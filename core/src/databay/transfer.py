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
from databay.retry import call_with_retry
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
    """What one transfer did: its update, records pulled and pushed, its duration, and
    (on a staged link) how many batches an outlet gave up on (``dead_lettered``)."""

    update: Update
    records_pulled: int
    records_pushed: int
    duration: float
    dead_lettered: int = 0


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
    dead = 0
    try:
        # With thousands of links due at once every step per transfer counts: the
        # common links take short cuts (one trip to the pool, fewer coroutines).
        inlets = link._inlets
        outlets = link._outlets
        staging = link._staging
        if staging is not None:
            from databay.staged_transfer import run_staged_transfer

            pulled, pushed, dead = await run_staged_transfer(link, staging, update, runtime, pull)
        elif (
            pull and len(inlets) == 1 and len(outlets) == 1 and not link.processors and not link.groupers
            and not inlets[0]._uses_coroutine and not outlets[0]._uses_coroutine
            and link.retry_policy is None and inlets[0].retry_policy is None and outlets[0].retry_policy is None
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
    return _finished(link, update, started, pulled, pushed, notify, dead)


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


def _finished(link: Link, update: Update, started: float, pulled: int, pushed: int, notify,
              dead: int = 0) -> TransferStats:
    stats = TransferStats(update, pulled, pushed, time.perf_counter() - started, dead)
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
        policy = inlet.retry_policy or link.retry_policy
        if policy is not None:
            data = await call_with_retry(lambda: _pull(inlet, update, runtime, alone), policy,
                                         f"Inlet {inlet} in {update}", runtime.stopping)
        elif inlet._uses_coroutine:
            data = await inlet.pull(update)
        else:
            data = await runtime.run_sync(inlet.pull, update, alone=alone)
        return inlet._as_records(data)
    except Exception as exc:
        if not link._ignore_exceptions:
            raise
        _LOGGER.exception(f'Inlet exception: "{exc}" for inlet: {inlet}, in: {link}, during: {update}')
        return []


async def _pull(inlet: Inlet, update: Update, runtime: Runtime, alone: bool) -> Any:
    if inlet._uses_coroutine:
        return await inlet.pull(update)
    return await runtime.run_sync(inlet.pull, update, alone=alone)


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
        inline = _inline_pushes(outlets, runtime)
        # Pushes going to the pool start first, so that they run while the inline ones do.
        order = sorted(range(len(outlets)), key=inline.__getitem__)
        await asyncio.gather(
            *(_push_one(link, outlets[i], deliveries[i], update, runtime, alone=inline[i]) for i in order)
        )


INLINE_PUSH_SECONDS = 0.001
"""Outside a planner, synchronous pushes that took less than this (on average) run on the
loop one after the other: a trip to a thread would cost more than it could overlap."""


def _inline_pushes(outlets: list[Outlet], runtime: Runtime) -> list[bool]:
    """Which outlets' synchronous pushes run on the loop rather than in a thread.

    Only outside a planner (a planner's loop must never block): there the loop has nothing
    else to do while synchronous outlets push, so the quick ones push on it, and so does
    the last slow one while the other slow ones push concurrently in threads.
    """
    if not runtime.allows_inline:
        return [False] * len(outlets)
    sync = [not outlet._uses_coroutine for outlet in outlets]
    slow = [i for i, outlet in enumerate(outlets) if sync[i] and outlet._push_seconds >= INLINE_PUSH_SECONDS]
    on_loop_too = slow[-1:] if all(sync) else []  # an async push would wait for it
    return [sync[i] and (i not in slow or i in on_loop_too) for i in range(len(outlets))]


def _process_and_push(outlet: Outlet, records: list[Record], update: Update) -> None:
    records = outlet._process(records)
    if records:  # outlets are never called with nothing to consume
        _timed_push(outlet, records, update)


def _timed_push(outlet: Outlet, records: list[Record], update: Update) -> None:
    """A synchronous push, keeping a moving average of how long the outlet's pushes take."""
    started = time.perf_counter()
    try:
        outlet.push(records, update)
    finally:
        outlet._push_seconds = 0.7 * outlet._push_seconds + 0.3 * (time.perf_counter() - started)


async def _push_one(
    link: Link, outlet: Outlet, records: list[Record], update: Update, runtime: Runtime, alone: bool
) -> None:
    try:
        policy = outlet.retry_policy or link.retry_policy
        if policy is not None:
            # Processors see the records once; only the push is retried.
            records = outlet._process(records)
            if records:
                await call_with_retry(lambda: _push(outlet, records, update, runtime, alone), policy,
                                      f"Outlet {outlet} in {update}", runtime.stopping)
        elif outlet._uses_coroutine:
            records = outlet._process(records)
            if records:
                await outlet._push_coroutine(records, update)
        else:
            await runtime.run_sync(_process_and_push, outlet, records, update, alone=alone)
    except Exception as exc:
        if not link._ignore_exceptions:
            raise
        _LOGGER.exception(f'Outlet exception: "{exc}" for outlet: {outlet}, in link: {link}, during: {update}')


async def _push(outlet: Outlet, records: list[Record], update: Update, runtime: Runtime, alone: bool) -> None:
    if outlet._uses_coroutine:
        await outlet._push_coroutine(records, update)
    else:
        await runtime.run_sync(_timed_push, outlet, records, update, alone=alone)
