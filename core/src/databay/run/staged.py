"""Staged delivery: pull, process, group, **commit**, deliver, acknowledge.

Where the stage sits::

    inlets -> link processors -> groupers -> [stage] -> per outlet: outlet processors -> push -> ack

1. Unless records of an earlier transfer are still waiting to be committed (the stage
   could not write them), every inlet pulls; right after each pull its
   :meth:`~databay.inlet.Inlet.get_state` is taken.
2. Link processors and groupers run once. Their batches, and the inlets' states, are
   committed to the stage in one transaction, before any outlet sees them. If that
   fails, the link keeps the pulled records and commits them at its next transfer,
   pulling nothing new until then.
3. Each outlet first gets the batches it has not acknowledged yet (from earlier
   transfers or an earlier run), in order, then the new ones. For each batch its
   processors run, then ``push``; when the push returns, the outlet has acknowledged the
   batch, and a batch acknowledged by every outlet leaves the stage.
4. A push that fails is retried as the outlet's (or link's) :class:`~databay.retry.RetryPolicy`
   says. With a policy, a batch still failing after the last attempt is dead-lettered
   for that outlet (kept with its error and traceback, secrets redacted) and the outlet
   goes on with the next batch. Without one, the batch stays pending: the outlet gets it
   again first at the next transfer, and the failure is raised (or logged, with
   ``ignore_exceptions``). A batch the stage cannot decode any more is dead-lettered by
   the stage itself; delivery goes on with the next.

Stateful processors (:class:`~databay.processors.StatefulProcessor`, e.g. a Buffer) keep
what they hold in the stage too: a batch an outlet's processor holds is not acknowledged
until the processor has released it and the push succeeded (after a restart it is
delivered again and so fills the new processor again); records a link-level processor
holds are kept in the stage's intake.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from typing import TYPE_CHECKING, Any

from databay import observers
from databay.errors import StageError, UndecodableBatchError
from databay.inlet import as_records_sharing_metadata
from databay.processors import stateful_processors
from databay.redaction import redact
from databay.retry import Attempts
from databay.run import steps
from databay.run.steps import inlet_failure, outlet_failure, report_failure
from databay.stage.base import Stage
from databay.stage.naming import node_keys

if TYPE_CHECKING:
    from databay.link_settings import LinkSettings
    from databay.record import Record
    from databay.run.runtime import Runtime
    from databay.run.state import LinkState, NodePlan
    from databay.update import Update

_LOGGER = logging.getLogger("databay.Link")


class _Intake:
    """Records pulled by one transfer and the inlets' states after their pulls (JSON text)."""

    __slots__ = ("update", "records", "states")

    def __init__(self, update: Update, records: list[Record], states: dict[str, str]):
        self.update = update
        self.records = records
        self.states = states


class StagedLink:
    """What a link with a stage remembers between transfers, besides the stage itself."""

    def __init__(self, stage: Any):
        # Holds no reference to its link: a link dropped without on_shutdown() is freed at
        # once, and its stage file with it (closing it releases the stage's lock).
        self.stage = stage
        # Pulled, but the stage could not commit them: committed before anything new is pulled.
        self.uncommitted: _Intake | None = None
        # Records link-level stateful processors held when the stage was last used (by
        # another process, or before a failed commit): they go through the link
        # processors first, refilling them.
        self.restored: list[Record] = []
        self.intake_in_stage = False
        # Per outlet key: batches its processors hold in memory, not acknowledged.
        self.held: dict[str, list[int]] = {}
        # Per outlet key: False once it is known to have no pending batch from earlier.
        self.backlog: dict[str, bool] = {}
        self._committed_states: dict[str, str] = {}
        self.restored_state = False
        self._lock = threading.Lock()
        self._keyed: tuple[list, list[str]] = ([], [])
        # Whether the stage is used by several processes in turn (see Stage.claim).
        self.claiming = getattr(type(stage), "claim", Stage.claim) is not Stage.claim

    def outlet_keys(self, outlets: list) -> list[str]:
        """:func:`node_keys` of ``outlets``, remembered while the link keeps the same list."""
        keyed, keys = self._keyed
        if keyed is not outlets:  # Link.add_outlets/remove_outlets make a new list
            keys = node_keys(outlets)
            self._keyed = (outlets, keys)
        return keys

    def open(self, link: LinkSettings) -> None:
        """Open the stage for ``link``; the first time, restore inlet states and the intake
        (and again whenever the stage's :meth:`~databay.stage.Stage.claim` says another
        process committed to it meanwhile)."""
        with self._lock:
            # A fill and a drain link share their stage: neither takes it for itself alone.
            if not self.stage.is_open:
                self.stage.open(exclusive=link.stage_role == "both")
            if not self.restored_state:
                if self.claiming:
                    self.stage.claim()
                self._restore(link, again=False)
                self._warn_about_orphans(link)
                self.restored_state = True
            elif self.claiming and link.stage_role != "drain" and self.stage.claim():
                self._restore(link, again=True)  # (a drain link has no positions to take)

    def _restore(self, link: LinkSettings, again: bool) -> None:
        """Take the inlets' positions and the intake from the stage."""
        states = self.stage.inlet_states()
        self._committed_states = {}
        for key, inlet in zip(node_keys(link.inlets), link.inlets):
            if key in states:
                inlet.set_state(states[key])
                self._committed_states[key] = json.dumps(states[key])
        if again:
            # What they held is in the intake, restored below; positions are the stage's.
            for processor in stateful_processors(link.processors):
                processor.discard()
            if self.uncommitted is not None:
                self.uncommitted.states = {}
        self.restored = self.stage.intake()
        self.intake_in_stage = bool(self.restored)
        self.backlog.clear()

    def _warn_about_orphans(self, link: LinkSettings) -> None:
        if link.stage_role != "both":
            return  # the stage's batches are the drain links' business
        outlets = set(node_keys(link.outlets))
        for entry in self.stage.backlog():
            if entry.outlet not in outlets:
                _LOGGER.warning("Stage %s holds %d %s batch(es) for outlet '%s', which %s does not have; "
                                "they stay there until purged (databay stage)", self.stage.path, entry.batches,
                                entry.state, entry.outlet, link)

    def close(self) -> None:
        self.stage.close()

    def steady(self, outlet_key: str) -> bool:
        """Whether a transfer only has new records to deliver to ``outlet_key``: nothing
        uncommitted or restored, no backlog, nothing held by a processor."""
        return (self.uncommitted is None and not self.restored and not self.held
                and self.backlog.get(outlet_key) is False)

    def commit(self, intake: _Intake, batches: list[list[Record]], outlets: list[str],
               link_processors_hold: bool = False, shared_metadata: list[dict | None] | None = None) -> list[int]:
        """Commit a transfer (see :meth:`Stage.commit`); stamp the batches with their ids.

        Inlet states equal to the ones last committed are not written again.
        """
        stage = self.stage
        committed = self._committed_states
        states = {key: text for key, text in intake.states.items() if committed.get(key) != text} \
            if intake.states else intake.states
        if not outlets:
            batches = []  # nobody to deliver to: only the inlets' positions move on
        transfer = str(intake.update)  # the transfer that pulled them
        try:
            if link_processors_hold:
                # What link processors hold stays in the intake; what they released (if anything) is staged.
                ids = stage.commit(transfer, batches, outlets, states, intake_records=intake.records)
                self.intake_in_stage = self.intake_in_stage or bool(intake.records)
            else:
                ids = stage.commit(transfer, batches, outlets, states, clear_intake=self.intake_in_stage,
                                   shared_metadata=shared_metadata or ())
                self.intake_in_stage = False
        except StageError as exc:
            count = len(intake.records)
            exc.args = (f"{exc}; the link keeps the {count} record(s) it pulled and commits them before it "
                        f"pulls anything new",)
            raise
        committed.update(states)
        for batch, records in zip(ids, batches):
            stage.stamp(records, batch)
        return ids


def staging_of(link: LinkSettings, state: LinkState) -> StagedLink | None:
    """The staged delivery's state of ``link`` (``None`` without a stage)."""
    staging = state.staging
    stage = link.stage
    if staging is None or staging.stage is not stage:
        staging = state.staging = StagedLink(stage) if stage is not None else None
    return staging


async def deliver(link: LinkSettings, plan: NodePlan, staging: StagedLink, update: Update, runtime: Runtime,
                  pull: bool = True) -> tuple[int, int, int]:
    """One transfer of a staged link: ``(records pulled, records pushed, dead letters)``.

    With ``pull=False`` nothing is pulled (stateful processors being flushed): what is
    uncommitted or held is still committed and delivered.
    """
    stage = staging.stage
    if not staging.restored_state or not stage.is_open or staging.claiming:
        await runtime.run_sync(staging.open, link, alone=True)
    role = link.stage_role
    # Another process may have made batches pending: `databay stage --replay`, or for a
    # drain link a fill link (which may even commit through this very stage object).
    if role == "drain" or stage.changed_elsewhere():
        staging.backlog.clear()
    inlets, outlets = plan.inlets, plan.outlets
    outlet_keys = list(link.stage_outlets) if role == "fill" else staging.outlet_keys(outlets)
    if (
        pull and len(inlets) == 1 and len(outlets) == 1 and not link.processors and not link.groupers
        and not outlets[0].processors and not plan.inlet_async[0] and not plan.outlet_async[0]
        and link.retry_policy is None and inlets[0].retry_policy is None and outlets[0].retry_policy is None
        and staging.steady(outlet_keys[0])
    ):
        # The common link, nothing to catch up on: the whole transfer in one trip to the pool.
        return await runtime.run_sync(_transfer_in_one_trip, link, plan, staging, outlet_keys[0], update,
                                      alone=True)

    failures: list[Exception] = []
    intake = staging.uncommitted
    if intake is None:
        intake = await _pull_all(link, plan, update, runtime, failures) if pull else _Intake(update, [], {})
    pulled = len(intake.records)
    holding = stateful_processors(link.processors)
    # Should the commit fail, these are fed again what they held before this transfer.
    held_before = [record for processor in holding for record in processor.held()]
    records = staging.restored + intake.records if staging.restored else intake.records
    try:
        if link.processors:
            records = steps.apply(link, link.processors, records, update, "Processor")
        link_processors_hold = any(processor.held() for processor in holding)
        batches = steps.apply(link, link.groupers, [records], update, "Grouper") if link.groupers else [records]
        batches = [batch for batch in batches if batch]
        ids = await runtime.run_sync(staging.commit, intake, batches, outlet_keys, link_processors_hold, alone=True)
    except BaseException:
        staging.uncommitted = intake
        for processor in holding:
            processor.discard()
        staging.restored = held_before + staging.restored
        raise
    staging.uncommitted = None
    staging.restored = []
    if role == "fill":  # the batches wait in the stage for the drain links
        if failures:
            raise failures[0]
        return pulled, 0, 0

    pushed, dead = await _deliver_all(link, plan, staging, list(zip(ids, batches)), outlet_keys, update, runtime,
                                      failures)
    if failures:  # node failures are only here when not ignoring exceptions; stage errors always
        raise failures[0]
    return pulled, pushed, dead


def _transfer_in_one_trip(link: LinkSettings, plan: NodePlan, staging: StagedLink, outlet_key: str,
                          update: Update) -> tuple[int, int, int]:
    """:func:`deliver` for one synchronous inlet and outlet, without processors, groupers
    or retries, when the outlet has nothing to catch up on; runs in the pool."""
    inlet = plan.inlets[0]
    inlet_key = type(inlet).__name__
    failures: list[Exception] = []
    try:
        # Nothing touches the records before they are staged: if every record's metadata
        # is a copy of one dict, the stage stores that dict once.
        records, shared = as_records_sharing_metadata(inlet, inlet.pull(update))
        state = inlet.get_state()
    except Exception as exc:
        report_failure(link, exc, inlet_failure(exc, inlet, link, update), failures)
        records, shared, state = [], None, None
    intake = _Intake(update, records, _state_text(link, inlet, inlet_key, state, failures))
    try:
        ids = staging.commit(intake, [records] if records else [], [outlet_key], shared_metadata=[shared])
    except BaseException:
        staging.uncommitted = intake
        raise
    pushed = 0
    if ids:
        try:
            steps.timed_push(plan, 0, list(records) if link.copy_records else records, update)
        except Exception as exc:
            staging.backlog[outlet_key] = True
            report_failure(link, exc, outlet_failure(exc, plan.outlets[0], link, update), failures)
        else:
            pushed = len(records)
            try:
                staging.stage.ack(outlet_key, ids)
            except StageError as exc:
                staging.backlog[outlet_key] = True
                failures.append(exc)
    if failures:  # node failures are only here when not ignoring exceptions; stage errors always
        raise failures[0]
    return len(records), pushed, 0


# -- pulling -----------------------------------------------------------------------------


async def _pull_all(link: LinkSettings, plan: NodePlan, update: Update, runtime: Runtime,
                    failures: list[Exception]) -> _Intake:
    keys = node_keys(plan.inlets)

    async def one(index: int, alone: bool) -> tuple[list[Record], dict[str, str]]:
        inlet = plan.inlets[index]
        try:
            records, state = await steps.pull(link, plan, index, update, runtime, alone, with_state=True)
        except Exception as exc:
            report_failure(link, exc, inlet_failure(exc, inlet, link, update), failures)
            return [], {}
        return records, _state_text(link, inlet, keys[index], state, failures)

    records: list[Record] = []
    states: dict[str, str] = {}
    for pulled, state in await steps.pull_each(link, plan, one):
        records.extend(pulled)
        states.update(state)
    return _Intake(update, records, states)


def _state_text(link: LinkSettings, inlet: Any, key: str, state: Any, failures: list[Exception]) -> dict[str, str]:
    """``{key: state as JSON}``, ``{}`` without a state. A state that is not JSON data is
    an error; the records are kept and the previous position stays committed, so a crash
    can only produce them again, never lose them."""
    if state is None:
        return {}
    try:
        return {key: json.dumps(state)}
    except (TypeError, ValueError) as exc:
        error = StageError(f"{inlet}.get_state() returned {state!r}, which is not JSON data ({exc}); "
                           f"its position was not saved")
        report_failure(link, error, str(error), failures)
        return {}


# -- delivering --------------------------------------------------------------------------


async def _deliver_all(link: LinkSettings, plan: NodePlan, staging: StagedLink, fresh: list[tuple[int, list[Record]]],
                       keys: list[str], update: Update, runtime: Runtime, failures: list[Exception]) -> tuple[int, int]:
    """Deliver to every outlet concurrently: ``(records pushed, dead letters)``."""
    count = len(plan.outlets)
    if not count:
        return 0, 0
    if count == 1:
        return await _deliver(link, plan, 0, staging, keys[0], fresh, update, runtime, True, failures)
    # As without a stage: all but the last outlet get copies, the last the originals.
    per_outlet = [steps.deliveries(link, records, count) for _, records in fresh]
    lists = [[(batch, copies[i]) for (batch, _), copies in zip(fresh, per_outlet)] for i in range(count)]
    inline = steps.inline_pushes(plan, runtime)
    order = sorted(range(count), key=inline.__getitem__)  # as without a stage: the pool's first
    results = await asyncio.gather(*(
        _deliver(link, plan, i, staging, keys[i], lists[i], update, runtime, inline[i], failures) for i in order
    ))
    return max(pushed for pushed, _ in results), sum(dead for _, dead in results)


async def _deliver(link: LinkSettings, plan: NodePlan, index: int, staging: StagedLink, key: str,
                   fresh: list[tuple[int, list[Record]]], update: Update, runtime: Runtime, alone: bool,
                   failures: list[Exception]) -> tuple[int, int]:
    """Give outlet ``index`` its backlog, then the fresh batches, in order: ``(records
    pushed, dead letters)``."""
    stage = staging.stage
    queue: list[tuple[int, list[Record] | None]] = []
    if staging.backlog.get(key, True):
        skip = {batch for batch, _ in fresh}
        skip.update(staging.held.get(key, ()))
        try:
            pending = await runtime.run_sync(stage.pending, key, alone=True)
        except StageError as exc:
            failures.append(exc)
            return 0, 0
        queue = [(batch, None) for batch in pending if batch not in skip]
        staging.backlog[key] = False
    queue.extend(fresh)
    pushed = dead = 0
    for batch, queued in queue:
        if queued is not None:
            records = queued
        else:
            try:
                records = await runtime.run_sync(stage.load, batch, alone=True)
            except UndecodableBatchError as exc:
                # The stage dead-lettered it already: go on with the next batch.
                _LOGGER.error("%s: batch %s of stage %s cannot be read and was dead-lettered: %s", link,
                              batch, stage.path, exc)
                dead += 1
                continue
            except StageError as exc:
                staging.backlog[key] = True
                failures.append(exc)
                return pushed, dead
        outcome = await _deliver_batch(link, plan, index, staging, key, batch, records, update, runtime, alone,
                                       failures)
        if outcome is _STOP:
            staging.backlog[key] = True
            break
        if outcome is _DEAD:
            dead += 1
        else:
            pushed += len(records)
    if not queue and getattr(plan.outlets[index], "processors", None):
        # Nothing new, but a stateful processor of the outlet may release on time.
        await _deliver_batch(link, plan, index, staging, key, None, [], update, runtime, alone, failures)
    return pushed, dead


_DONE, _DEAD, _STOP = "done", "dead", "stop"


async def _deliver_batch(link: LinkSettings, plan: NodePlan, index: int, staging: StagedLink, key: str,
                         batch: int | None, records: list[Record], update: Update, runtime: Runtime, alone: bool,
                         failures: list[Exception]) -> str:
    """Process and push one batch to one outlet and acknowledge it (or what a processor released)."""
    outlet = plan.outlets[index]
    batches = staging.held.pop(key, [])
    if batch is not None:
        batches.append(batch)
    retried = outlet.retry_policy is not None or link.retry_policy is not None
    try:
        processed = steps.process(outlet, records)
    except Exception as exc:
        # Not retried: processors (a stateful one especially) must see a batch only once.
        return await _delivery_failed(link, staging, outlet, key, batches, exc, 1, retried, update, runtime,
                                      failures)
    holding = any(processor.held() for processor in stateful_processors(outlet.processors)) \
        if outlet.processors else False
    if processed:
        attempts = Attempts()
        try:
            await steps.push(link, plan, index, processed, update, runtime, alone, attempts)
        except Exception as exc:
            return await _delivery_failed(link, staging, outlet, key, batches, exc, attempts.count,
                                          retried and not attempts.interrupted, update, runtime, failures)
    if holding:
        # A processor still holds records of these batches: acknowledged once it released them.
        if batches:
            staging.held[key] = batches
        return _DONE
    if batches:
        try:
            await runtime.run_sync(staging.stage.ack, key, batches, alone=True)
        except StageError as exc:
            failures.append(exc)
            return _STOP
    return _DONE


async def _delivery_failed(link: LinkSettings, staging: StagedLink, outlet: Any, key: str, batches: list[int],
                           exc: Exception, attempts: int, dead_letter: bool, update: Update, runtime: Runtime,
                           failures: list[Exception]) -> str:
    """Dead-letter ``batches`` for ``outlet`` (``dead_letter``), or leave them pending and stop."""
    message = outlet_failure(exc, outlet, link, update)
    # Whatever the outlet's processors still hold belongs to these batches, which are
    # delivered again (or dead-lettered) whole.
    for processor in stateful_processors(outlet.processors):
        processor.discard()
    if not dead_letter or not batches:
        report_failure(link, exc, message, failures)
        return _STOP
    stage = staging.stage
    # What the stage keeps must not keep a secret an exception message happened to carry.
    error = redact(f"{type(exc).__name__}: {exc}")
    trace = redact("".join(traceback.format_exception(exc)))
    try:
        letters = await runtime.run_sync(stage.dead_letter, key, batches, error, trace, attempts, alone=True)
    except StageError as stage_exc:
        failures.append(stage_exc)
        return _STOP
    _LOGGER.error("%s; dead-lettered %d batch(es) in stage %s after %d attempt(s)", message, len(batches),
                  stage.path, attempts)
    notify = observers.current()
    if notify is not None:
        for letter in letters:
            notify.batch_dead_lettered(link=link, update=update, outlet=outlet, dead_letter=letter, exception=exc)
    return _DEAD
