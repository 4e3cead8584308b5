"""Plain delivery: pull, process, group, push; nothing is kept between transfers.

The order of the steps of :mod:`~databay.run.steps` for a link without a stage, as in
databay 0.3: every inlet pulls (concurrently), the link's processors and groupers run,
and each non-empty batch goes to every outlet concurrently, each outlet applying its own
processors first. A failure is raised at once unless the link ignores exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from databay.inlet import as_records
from databay.run import steps
from databay.run.steps import inlet_failure, outlet_failure, report_failure

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings
    from databay.record import Record
    from databay.run.runtime import Runtime
    from databay.run.state import NodePlan
    from databay.update import Update


async def deliver(link: LinkSettings, plan: NodePlan, update: Update, runtime: Runtime,
                  pull: bool = True) -> tuple[int, int]:
    """One transfer of ``link`` without a stage: ``(records pulled, records pushed)``.

    With ``pull=False`` the inlets are not asked for anything: only what stateful
    processors release is pushed (see :mod:`~databay.run.flushing`).
    """
    shape = short_cut(link, plan, pull)
    if shape is not None:
        # The common links: with thousands due at once every step counts.
        if shape == "sync":
            # Pull and push in one trip to the thread pool, not two.
            return await runtime.run_sync(_pull_and_push, link, plan, update, alone=True)
        # Asynchronous: pull and push right here, in the transfer's own task.
        count = await deliver_pair(link, plan.inlets[0], plan.outlets[0], update)
        return count, count
    records: list[Record] = []
    if pull:
        for some in await steps.pull_each(link, plan, lambda index, alone: _pull(link, plan, index, update,
                                                                                  runtime, alone)):
            records.extend(some)
    pulled_count = len(records)
    if link.processors:
        records = steps.apply(link, link.processors, records, update, "Processor")
    batches = steps.apply(link, link.groupers, [records], update, "Grouper") if link.groupers else [records]
    # An empty batch means "nothing to consume", unless an outlet's own processors (a
    # stateful one being flushed or timed out) may still release records from it.
    outlet_processors = any(getattr(outlet, "processors", None) for outlet in plan.outlets)
    pushed = 0
    for batch in batches:
        if batch or outlet_processors:
            await _push_all(link, plan, batch, update, runtime)
            pushed += len(batch)
    return pulled_count, pushed


def short_cut(link: LinkSettings, plan: NodePlan, pull: bool = True) -> str | None:
    """``"sync"`` or ``"async"`` when a transfer of ``link`` may take the short cut of a
    link with one inlet and one outlet of that kind (no link processors, groupers or
    retries); ``None`` when it takes the general steps. Asked at every transfer: the
    lists and policies are the user's to change at any time."""
    shape = plan.one_to_one
    if (shape is not None and pull and not link.processors and not link.groupers and link.retry_policy is None
            and plan.inlets[0].retry_policy is plan.outlets[0].retry_policy is None):
        return shape
    return None


async def deliver_pair(link: LinkSettings, inlet: Any, outlet: Any, update: Update,
                       on_error: Callable[[Exception, Any], None] | None = None, slot: Any = None) -> int:
    """The transfer of an asynchronous one-inlet, one-outlet link taking the short cut
    (:func:`short_cut`): pull and push in the calling task; the records pulled (and pushed).

    With ``on_error``, a failure the link does not ignore goes to ``on_error(exception,
    link)`` (and 0 is returned) instead of being raised: the engine's quiet scheduled
    transfers run this as their whole coroutine (no envelope around it). Their
    ``slot`` (the engine's, whose ``task`` is this transfer's task) is told the transfer
    ended (``slot.task = None``) when it does, so that the finished task is freed at once
    rather than kept until the link's next transfer: 10,000 tasks kept for a second make
    the garbage collector's full collections walk them again and again.
    """
    try:
        try:
            # A new list: the only outlet may keep or change it (copy_records asks no more).
            pulled = as_records(inlet, await inlet.pull(update))
        except Exception as exc:
            report_failure(link, exc, inlet_failure(exc, inlet, link, update))
            pulled = []
        count = len(pulled)
        try:
            if outlet.processors:
                pulled = steps.process(outlet, pulled)
            if pulled:
                await outlet.push(pulled, update)
        except Exception as exc:
            report_failure(link, exc, outlet_failure(exc, outlet, link, update))
    except Exception as exc:
        if on_error is None:
            raise
        on_error(exc, link)
        return 0
    finally:
        if slot is not None:
            slot.task = None
    return count


async def _pull(link: LinkSettings, plan: NodePlan, index: int, update: Update, runtime: Runtime,
                alone: bool) -> list[Record]:
    try:
        return await steps.pull(link, plan, index, update, runtime, alone)
    except Exception as exc:
        report_failure(link, exc, inlet_failure(exc, plan.inlets[index], link, update))
        return []


async def _push_all(link: LinkSettings, plan: NodePlan, batch: list[Record], update: Update, runtime: Runtime) -> None:
    count = len(plan.outlets)
    if not count:
        return
    lists = steps.deliveries(link, batch, count)
    if count == 1:
        await _push(link, plan, 0, lists[0], update, runtime, True)
        return
    inline = steps.inline_pushes(plan, runtime)
    # Pushes going to the pool start first, so that they run while the inline ones do.
    order = sorted(range(count), key=inline.__getitem__)
    await asyncio.gather(*(_push(link, plan, i, lists[i], update, runtime, inline[i]) for i in order))


async def _push(link: LinkSettings, plan: NodePlan, index: int, records: list[Record], update: Update,
                runtime: Runtime, alone: bool) -> None:
    try:
        await steps.process_then_push(link, plan, index, records, update, runtime, alone)
    except Exception as exc:
        report_failure(link, exc, outlet_failure(exc, plan.outlets[index], link, update))


def _pull_and_push(link: LinkSettings, plan: NodePlan, update: Update) -> tuple[int, int]:
    """The whole transfer of a link with one synchronous inlet and one synchronous outlet
    (and no link processors, groupers or retries), in one call in the pool. The records
    are a new list and go to the only outlet: nothing to copy, and no push timing to keep
    (it only decides how several outlets push)."""
    inlet, outlet = plan.inlets[0], plan.outlets[0]
    try:
        records = as_records(inlet, inlet.pull(update))
    except Exception as exc:
        report_failure(link, exc, inlet_failure(exc, inlet, link, update))
        records = []
    count = len(records)
    if count or outlet.processors:
        try:
            records = steps.process(outlet, records)
            if records:  # outlets are never called with nothing to consume
                outlet.push(records, update)
        except Exception as exc:
            report_failure(link, exc, outlet_failure(exc, outlet, link, update))
    return count, count
