"""The steps every transfer shares, with or without a stage.

Pull (every inlet, concurrently, retried as the policies say), apply the link's
processors and groupers, make each outlet's copy of a batch, apply an outlet's processors
and push (timed, retried). :mod:`~databay.run.plain` and :mod:`~databay.run.staged` are
two orders of these steps. Synchronous pulls and pushes go through the
:class:`~databay.run.runtime.Runtime`, so they never block a planner's loop.

A failing node, processor or grouper is reported with :func:`report_failure`: logged when
the link ignores exceptions, else raised at once or, where a transfer must finish its
other deliveries first, collected and raised at the end.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from databay import observers
from databay.copying import copy_records
from databay.inlet import as_records
from databay.retry import Attempts, call_with_retry

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings
    from databay.record import Record
    from databay.run.runtime import Runtime
    from databay.run.state import NodePlan
    from databay.update import Update

LOGGER = logging.getLogger("databay.Link")

INLINE_PUSH_SECONDS = 0.001
"""Outside a planner, synchronous pushes that took less than this (on average) run on the
loop one after the other: a trip to a thread would cost more than it could overlap."""


# -- failures ------------------------------------------------------------------------


def report_failure(link: LinkSettings, exc: Exception, message: str, collected: list[Exception] | None = None) -> None:
    """Log ``exc`` if ``link`` ignores exceptions; else add it to ``collected``, or raise it."""
    if link.ignore_exceptions:
        LOGGER.error(message, exc_info=exc)
    elif collected is not None:
        collected.append(exc)
    else:
        raise exc


def inlet_failure(exc: Exception, inlet: Any, link: LinkSettings, update: Update) -> str:
    return f'Inlet exception: "{exc}" for inlet: {inlet}, in: {link}, during: {update}'


def outlet_failure(exc: Exception, outlet: Any, link: LinkSettings, update: Update) -> str:
    return f'Outlet exception: "{exc}" for outlet: {outlet}, in link: {link}, during: {update}'


def _tell_retrying(link: LinkSettings, update: Update, node: Any) -> Callable[[int, Exception, float], None] | None:
    """What tells the observers that ``node`` is retried (``None`` when nobody observes)."""
    notify = observers.current()
    if notify is None:
        return None

    def retrying(attempt: int, exc: Exception, delay: float) -> None:
        notify.transfer_retrying(link=link, update=update, node=node, attempt=attempt, exception=exc, delay=delay)

    return retrying


# -- pulling ---------------------------------------------------------------------------


def _pull_sync(inlet: Any, update: Update, with_state: bool) -> Any:
    records = as_records(inlet, inlet.pull(update))
    return (records, inlet.get_state()) if with_state else records


async def _pull_once(inlet: Any, is_async: bool, update: Update, runtime: Runtime, alone: bool,
                     with_state: bool) -> Any:
    if is_async:
        records = as_records(inlet, await inlet.pull(update))
        return (records, inlet.get_state()) if with_state else records
    return await runtime.run_sync(_pull_sync, inlet, update, with_state, alone=alone)


async def pull(link: LinkSettings, plan: NodePlan, index: int, update: Update, runtime: Runtime, alone: bool,
               with_state: bool = False) -> Any:
    """The records of inlet ``index`` (with ``with_state``, ``(records, inlet.get_state())``
    taken right after the pull), retried as its policy says; a failure is raised."""
    inlet, is_async = plan.inlets[index], plan.inlet_async[index]
    policy = inlet.retry_policy or link.retry_policy
    if policy is None:
        return await _pull_once(inlet, is_async, update, runtime, alone, with_state)
    return await call_with_retry(lambda: _pull_once(inlet, is_async, update, runtime, alone, with_state),
                                 policy, f"Inlet {inlet} in {update}", runtime.stopping,
                                 on_retry=_tell_retrying(link, update, inlet))


async def pull_each(link: LinkSettings, plan: NodePlan, one: Callable[[int, bool], Any]) -> list[Any]:
    """``one(index, alone)`` for every inlet, concurrently (at most ``link.inlet_concurrency``
    at once); their results in the inlets' order."""
    count = len(plan.inlets)
    if count == 1:
        return [await one(0, True)]
    if not count:
        return []
    limit = link.inlet_concurrency
    if limit >= count:
        return await asyncio.gather(*(one(index, False) for index in range(count)))
    semaphore = asyncio.Semaphore(limit)

    async def limited(index: int) -> Any:
        async with semaphore:
            return await one(index, False)

    return await asyncio.gather(*(limited(index) for index in range(count)))


# -- processing ------------------------------------------------------------------------


def apply(link: LinkSettings, steps: list, data: Any, update: Update, label: str,
          collected: list[Exception] | None = None) -> Any:
    """Run ``data`` through ``steps`` (processors or groupers) in order; a failing step is
    reported (``label`` names its kind) and skipped."""
    for step in steps:
        try:
            data = step(data)
        except Exception as exc:
            report_failure(link, exc,
                           f'{label} exception: "{exc}" for {label.lower()}: {step}, in: {link}, during: {update}',
                           collected)
    return data


def process(outlet: Any, records: list[Record]) -> list[Record]:
    """``records`` through the outlet's own processors (:meth:`Outlet._process
    <databay.outlet.Outlet._process>`, which an outlet may override)."""
    return outlet._process(records)


def deliveries(link: LinkSettings, batch: list, outlets: int) -> list[list]:
    """Each outlet's list of a batch. With ``copy_records``, every outlet but the last gets
    copies and the last the originals (nobody else holds them any more)."""
    if not link.copy_records:
        return [batch] * outlets
    copies = [copy_records(batch) for _ in range(outlets - 1)]
    copies.append(list(batch))
    return copies


# -- pushing ---------------------------------------------------------------------------


def inline_pushes(plan: NodePlan, runtime: Runtime) -> list[bool]:
    """Which outlets' synchronous pushes run on the loop rather than in a thread.

    Only outside a planner (a planner's loop must never block): there the loop has nothing
    else to do while synchronous outlets push, so the quick ones push on it, and so does
    the last slow one while the other slow ones push concurrently in threads.
    """
    count = len(plan.outlets)
    if not runtime.allows_inline:
        return [False] * count
    sync = [not is_async for is_async in plan.outlet_async]
    slow = [i for i in range(count) if sync[i] and plan.push_seconds[i] >= INLINE_PUSH_SECONDS]
    on_loop_too = slow[-1:] if all(sync) else []  # an async push would wait for it
    return [sync[i] and (i not in slow or i in on_loop_too) for i in range(count)]


def timed_push(plan: NodePlan, index: int, records: list[Record], update: Update) -> None:
    """A synchronous push, keeping a moving average of how long the outlet's pushes take."""
    started = time.perf_counter()
    try:
        plan.outlets[index].push(records, update)
    finally:
        plan.push_seconds[index] = 0.7 * plan.push_seconds[index] + 0.3 * (time.perf_counter() - started)


def process_and_push(plan: NodePlan, index: int, records: list[Record], update: Update) -> int:
    """Process ``records`` with the outlet's processors and push what they give (an outlet
    is never called with nothing to consume); how many records were pushed."""
    records = process(plan.outlets[index], records)
    if records:
        timed_push(plan, index, records, update)
    return len(records)


async def push(link: LinkSettings, plan: NodePlan, index: int, records: list[Record], update: Update,
               runtime: Runtime, alone: bool, attempts: Attempts | None = None) -> None:
    """Push already processed ``records`` to outlet ``index``, retried as its policy says;
    a failure is raised (``attempts`` counts the tries)."""
    outlet, is_async = plan.outlets[index], plan.outlet_async[index]
    policy = outlet.retry_policy or link.retry_policy

    async def once() -> None:
        if is_async:
            await outlet.push(records, update)
        else:
            await runtime.run_sync(timed_push, plan, index, records, update, alone=alone)

    if policy is None and attempts is None:
        await once()
    else:
        await call_with_retry(once, policy, f"Outlet {outlet} in {update}", runtime.stopping, attempts,
                              _tell_retrying(link, update, outlet))


async def process_then_push(link: LinkSettings, plan: NodePlan, index: int, records: list[Record], update: Update,
                            runtime: Runtime, alone: bool) -> None:
    """The outlet's processors, then :func:`push` of what they give (if anything)."""
    outlet = plan.outlets[index]
    if not plan.outlet_async[index] and outlet.retry_policy is None and link.retry_policy is None:
        # Processors and push in one trip to the thread pool.
        await runtime.run_sync(process_and_push, plan, index, records, update, alone=alone)
        return
    records = process(outlet, records)  # once: only the push is retried
    if records:
        await push(link, plan, index, records, update, runtime, alone)
