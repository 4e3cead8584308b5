"""One transfer of a link that has a stage: pull, process, group, **commit**, deliver, acknowledge.

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
   for that outlet (kept with its error and traceback) and the outlet goes on with the
   next batch. Without one, the batch stays pending: the outlet gets it again first at
   the next transfer, and the failure is raised (or logged, with ``ignore_exceptions``).

Buffers keep what they hold in the stage too: a batch an outlet's
:class:`~databay.support.buffers.Buffer` holds is not acknowledged until the buffer has
released it and the push succeeded (after a restart it is delivered again and so fills
the new buffer again); records a link-level buffer holds are kept in the stage's intake.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import traceback
from typing import TYPE_CHECKING, Any

from databay import observers
from databay.copying import copy_records
from databay.errors import StageError, UndecodableBatchError
from databay.retry import Attempts, call_with_retry
from databay.stage.store import SqliteStage, Stage
from databay.support.buffers import Buffer
from databay.transfer import _apply, _inline_pushes, _push

if TYPE_CHECKING:
    import os

    from databay.inlet import Inlet
    from databay.link import Link
    from databay.outlet import Outlet
    from databay.record import Record
    from databay.runtime import Runtime
    from databay.update import Update

_LOGGER = logging.getLogger("databay.Link")


def node_keys(nodes: list) -> list[str]:
    """How a stage names a link's inlets or outlets: see :func:`numbered`."""
    return numbered([type(node).__name__ for node in nodes])


def numbered(class_names: list[str]) -> list[str]:
    """Class names, with ``#2``, ``#3``... for the repeats of a class.

    ``[CsvOutlet, MongoOutlet, CsvOutlet]`` -> ``['CsvOutlet', 'MongoOutlet', 'CsvOutlet#2']``:
    stable when outlets of other classes are added or removed.
    """
    seen: dict[str, int] = {}
    keys = []
    for name in class_names:
        count = seen[name] = seen.get(name, 0) + 1
        keys.append(name if count == 1 else f"{name}#{count}")
    return keys


class _Intake:
    """Records pulled by one transfer and the inlets' states after their pulls (JSON text)."""

    __slots__ = ("update", "records", "states")

    def __init__(self, update: Update, records: list[Record], states: dict[str, str]):
        self.update = update
        self.records = records
        self.states = states


class StagedLink:
    """What a link with a stage remembers between transfers, besides the stage file."""

    def __init__(self, stage: Stage | str | os.PathLike):
        # Holds no reference to its link: a link dropped without on_shutdown() is freed at
        # once, and its stage file with it (closing it releases the stage's lock).
        self.stage = stage if isinstance(stage, Stage) else SqliteStage(stage)
        # Pulled, but the stage could not commit them: committed before anything new is pulled.
        self.uncommitted: _Intake | None = None
        # Records a link-level buffer held when the stage was last used by another process:
        # they go through the link processors first, refilling the buffer.
        self.restored: list[Record] = []
        self.intake_in_stage = False
        # Per outlet key: batches its processors (buffers) hold in memory, not acknowledged.
        self.held: dict[str, list[int]] = {}
        # Per outlet key: False once it is known to have no pending batch from earlier.
        self.backlog: dict[str, bool] = {}
        self._committed_states: dict[str, str] = {}
        self._restored_state = False
        self._lock = threading.Lock()
        self._keyed: tuple[list, list[str]] = ([], [])

    def outlet_keys(self, outlets: list) -> list[str]:
        """:func:`node_keys` of ``outlets``, remembered while the link keeps the same list."""
        keyed, keys = self._keyed
        if keyed is not outlets:  # Link.add_outlets/remove_outlets make a new list
            keys = node_keys(outlets)
            self._keyed = (outlets, keys)
        return keys

    def open(self, link: Link) -> None:
        """Open the stage for ``link``; the first time, restore inlet states and the intake."""
        with self._lock:
            if self.stage.is_open and self._restored_state:
                return
            self.stage.open(exclusive=True)
            if self._restored_state:
                return
            states = self.stage.inlet_states()
            for key, inlet in zip(node_keys(link._inlets), link._inlets):
                if key in states:
                    inlet.set_state(states[key])
                    self._committed_states[key] = json.dumps(states[key])
            self.restored = self.stage.intake()
            self.intake_in_stage = bool(self.restored)
            self.backlog.clear()
            self._warn_about_orphans(link)
            self._restored_state = True

    def _warn_about_orphans(self, link: Link) -> None:
        outlets = set(node_keys(link._outlets))
        for entry in self.stage.backlog():
            if entry.outlet not in outlets:
                _LOGGER.warning("Stage %s holds %d %s batch(es) for outlet '%s', which %s does not have; "
                                "they stay there until purged (databay stage)", self.stage.path, entry.batches,
                                entry.state, entry.outlet, link)

    def close(self) -> None:
        self.stage.close()

    def steady(self, outlet_key: str) -> bool:
        """Whether a transfer only has new records to deliver to ``outlet_key``: nothing
        uncommitted or restored, no backlog, nothing held by a buffer."""
        return (self.uncommitted is None and not self.restored and not self.held
                and self.backlog.get(outlet_key) is False)

    def commit(self, intake: _Intake, batches: list[list[Record]], outlets: list[str],
               link_buffer_holds: bool = False, shared_metadata: list[dict | None] | None = None) -> list[int]:
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
            if link_buffer_holds:
                # What a link buffer holds stays in the intake; what it released (if anything) is staged.
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


async def run_staged_transfer(link: Link, staging: StagedLink, update: Update, runtime: Runtime,
                              pull: bool = True) -> tuple[int, int, int]:
    """Run one transfer of a staged link (``staging`` is its ``_staging``): ``(records
    pulled, records pushed, dead letters)``.

    With ``pull=False`` nothing is pulled (Buffers being flushed): what is uncommitted or
    held is still committed and delivered.
    """
    stage = staging.stage
    if not staging._restored_state or not stage.is_open:
        await runtime.run_sync(staging.open, link, alone=True)
    if stage.changed_elsewhere():  # e.g. `databay stage --replay` made dead letters pending
        staging.backlog.clear()
    inlets, outlets = link._inlets, link._outlets
    if (
        pull and len(inlets) == 1 and len(outlets) == 1 and not link.processors and not link.groupers
        and not outlets[0].processors and not inlets[0]._uses_coroutine and not outlets[0]._uses_coroutine
        and link.retry_policy is None and inlets[0].retry_policy is None and outlets[0].retry_policy is None
        and staging.steady(staging.outlet_keys(outlets)[0])
    ):
        # The common link, nothing to catch up on: the whole transfer in one trip to the pool.
        return await runtime.run_sync(_transfer_in_one_trip, link, staging, inlets[0], outlets[0], update,
                                      alone=True)

    failures: list[Exception] = []
    intake = staging.uncommitted
    if intake is None:
        intake = await _pull_all(link, update, runtime, failures) if pull else _Intake(update, [], {})
    pulled = len(intake.records)
    link_buffers = [p for p in link.processors if isinstance(p, Buffer)]
    # Should the commit fail, link buffers must not keep what they stored from this transfer.
    saved = [(buffer, list(buffer.records), buffer.time_start) for buffer in link_buffers]
    records = staging.restored + intake.records if staging.restored else intake.records
    outlet_keys = staging.outlet_keys(outlets)
    try:
        if link.processors:
            records = _apply(link, link.processors, records, update, "Processor")
        link_buffer_holds = any(buffer.records for buffer in link_buffers)
        batches = _apply(link, link.groupers, [records], update, "Grouper") if link.groupers else [records]
        batches = [batch for batch in batches if batch]
        ids = await runtime.run_sync(staging.commit, intake, batches, outlet_keys, link_buffer_holds, alone=True)
    except BaseException:
        staging.uncommitted = intake
        for buffer, stored, time_start in saved:
            buffer.records, buffer.time_start = stored, time_start
        raise
    staging.uncommitted = None
    staging.restored = []

    pushed, dead = await _deliver_all(link, staging, list(zip(ids, batches)), outlet_keys, update, runtime,
                                      failures)
    if failures:  # node failures are only here when not ignoring exceptions; stage errors always
        raise failures[0]
    return pulled, pushed, dead


def _transfer_in_one_trip(link: Link, staging: StagedLink, inlet: Inlet, outlet: Outlet,
                          update: Update) -> tuple[int, int, int]:
    """:func:`run_staged_transfer` for one synchronous inlet and outlet, without processors,
    groupers or retries, when the outlet has nothing to catch up on; runs in the pool."""
    inlet_key, outlet_key = type(inlet).__name__, staging.outlet_keys(link._outlets)[0]
    failures: list[Exception] = []
    try:
        # Nothing touches the records before they are staged: if every record's metadata
        # is a copy of one dict, the stage stores that dict once.
        records, shared = inlet._as_records_sharing_metadata(inlet.pull(update))
        state = inlet.get_state()
    except Exception as exc:
        _failed(link, failures, exc, f'Inlet exception: "{exc}" for inlet: {inlet}, in: {link}, during: {update}')
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
            outlet.push(list(records) if link._copy_records else records, update)
        except Exception as exc:
            staging.backlog[outlet_key] = True
            _failed(link, failures, exc,
                    f'Outlet exception: "{exc}" for outlet: {outlet}, in link: {link}, during: {update}')
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


async def _pull_all(link: Link, update: Update, runtime: Runtime, failures: list[Exception]) -> _Intake:
    inlets = link._inlets
    keys = node_keys(inlets)
    states: dict[str, str] = {}
    if len(inlets) == 1:
        results = [await _pull_one(link, inlets[0], keys[0], update, runtime, True, failures)]
    else:
        limit = asyncio.Semaphore(min(link.inlet_concurrency, len(inlets) or 1))

        async def limited(inlet: Inlet, key: str):
            async with limit:
                return await _pull_one(link, inlet, key, update, runtime, False, failures)

        results = await asyncio.gather(*(limited(inlet, key) for inlet, key in zip(inlets, keys)))
    records: list[Record] = []
    for pulled, state in results:
        records.extend(pulled)
        states.update(state)
    return _Intake(update, records, states)


def _pull_sync(inlet: Inlet, update: Update) -> tuple[list[Record], Any]:
    records = inlet._as_records(inlet.pull(update))
    return records, inlet.get_state()


async def _pull_and_state(inlet: Inlet, update: Update, runtime: Runtime, alone: bool) -> tuple[list[Record], Any]:
    if inlet._uses_coroutine:
        records = inlet._as_records(await inlet.pull(update))
        return records, inlet.get_state()
    return await runtime.run_sync(_pull_sync, inlet, update, alone=alone)


async def _pull_one(link: Link, inlet: Inlet, key: str, update: Update, runtime: Runtime, alone: bool,
                    failures: list[Exception]) -> tuple[list[Record], dict[str, str]]:
    """``(records, {key: state as JSON text}`` or ``{}``); a failure is logged or added to ``failures``."""
    policy = inlet.retry_policy or link.retry_policy
    try:
        if policy is None:
            records, state = await _pull_and_state(inlet, update, runtime, alone)
        else:
            records, state = await call_with_retry(
                lambda: _pull_and_state(inlet, update, runtime, alone), policy, f"Inlet {inlet} in {update}",
                runtime.stopping)
    except Exception as exc:
        _failed(link, failures, exc, f'Inlet exception: "{exc}" for inlet: {inlet}, in: {link}, during: {update}')
        return [], {}
    return records, _state_text(link, inlet, key, state, failures)


def _state_text(link: Link, inlet: Inlet, key: str, state: Any, failures: list[Exception]) -> dict[str, str]:
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
        _failed(link, failures, error, str(error))
        return {}


def _failed(link: Link, failures: list[Exception], exc: Exception, message: str) -> None:
    if link._ignore_exceptions:
        _LOGGER.error(message, exc_info=exc)
    else:
        failures.append(exc)


# -- delivering --------------------------------------------------------------------------


async def _deliver_all(link: Link, staging: StagedLink, fresh: list[tuple[int, list[Record]]], keys: list[str],
                       update: Update, runtime: Runtime, failures: list[Exception]) -> tuple[int, int]:
    """Deliver to every outlet concurrently: ``(records pushed, dead letters)``."""
    outlets = link._outlets
    if not outlets:
        return 0, 0
    last = len(outlets) - 1
    if link._copy_records and last:
        # As without a stage: all but the last outlet get copies, the last the originals.
        deliveries = [[(batch, copy_records(records)) for batch, records in fresh] for _ in range(last)]
        deliveries.append(fresh)
    else:
        deliveries = [fresh] * len(outlets)
    if not last:
        return await _deliver(link, staging, outlets[0], keys[0], deliveries[0], update, runtime, True, failures)
    inline = _inline_pushes(outlets, runtime)
    order = sorted(range(len(outlets)), key=inline.__getitem__)  # as without a stage: the pool's first
    results = await asyncio.gather(*(
        _deliver(link, staging, outlets[i], keys[i], deliveries[i], update, runtime, inline[i], failures)
        for i in order
    ))
    return max(pushed for pushed, _ in results), sum(dead for _, dead in results)


async def _deliver(link: Link, staging: StagedLink, outlet: Outlet, key: str, fresh: list[tuple[int, list[Record]]],
                   update: Update, runtime: Runtime, alone: bool, failures: list[Exception]) -> tuple[int, int]:
    """Give ``outlet`` its backlog, then the fresh batches, in order: ``(records pushed, dead letters)``."""
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
    for batch, records in queue:
        if records is None:
            try:
                records = await runtime.run_sync(stage.load, batch, alone=True)
            except UndecodableBatchError as exc:  # a poison batch: the stage dead-lettered it
                _LOGGER.error("%s", exc)
                dead += 1
                continue
            except StageError as exc:
                staging.backlog[key] = True
                failures.append(exc)
                return pushed, dead
        outcome = await _deliver_batch(link, staging, outlet, key, batch, records, update, runtime, alone,
                                       failures)
        if outcome is _STOP:
            staging.backlog[key] = True
            break
        if outcome is _DEAD:
            dead += 1
        else:
            pushed += len(records)
    if not queue and outlet.processors:
        # Nothing new, but a buffer among the outlet's processors may release on time.
        await _deliver_batch(link, staging, outlet, key, None, [], update, runtime, alone, failures)
    return pushed, dead


_DONE, _DEAD, _STOP = "done", "dead", "stop"


async def _deliver_batch(link: Link, staging: StagedLink, outlet: Outlet, key: str, batch: int | None,
                         records: list[Record], update: Update, runtime: Runtime, alone: bool,
                         failures: list[Exception]) -> str:
    """Process and push one batch to one outlet and acknowledge it (or what a buffer released)."""
    stage = staging.stage
    batches = staging.held.pop(key, [])
    if batch is not None:
        batches.append(batch)
    policy = outlet.retry_policy or link.retry_policy
    try:
        processed = outlet._process(records) if outlet.processors else records
    except Exception as exc:
        # Not retried: processors (a buffer especially) must see a batch only once.
        return await _delivery_failed(link, staging, outlet, key, batches, exc, 1, policy is not None, update,
                                      runtime, failures)
    holding = any(p.records for p in outlet.processors if isinstance(p, Buffer)) if outlet.processors else False
    if processed:
        attempts = Attempts()
        try:
            await call_with_retry(lambda: _push(outlet, processed, update, runtime, alone), policy,
                                  f"Outlet {outlet} in {update}", runtime.stopping, attempts)
        except Exception as exc:
            return await _delivery_failed(link, staging, outlet, key, batches, exc, attempts.count,
                                          policy is not None and not attempts.interrupted, update, runtime,
                                          failures)
    if holding:
        # A buffer still holds records of these batches: acknowledged once it released them.
        if batches:
            staging.held[key] = batches
        return _DONE
    if batches:
        try:
            await runtime.run_sync(stage.ack, key, batches, alone=True)
        except StageError as exc:
            failures.append(exc)
            return _STOP
    return _DONE


async def _delivery_failed(link: Link, staging: StagedLink, outlet: Outlet, key: str, batches: list[int],
                           exc: Exception, attempts: int, dead_letter: bool, update: Update, runtime: Runtime,
                           failures: list[Exception]) -> str:
    """Dead-letter ``batches`` for ``outlet`` (``dead_letter``), or leave them pending and stop."""
    message = f'Outlet exception: "{exc}" for outlet: {outlet}, in link: {link}, during: {update}'
    # Whatever the outlet's buffers still hold belongs to these batches, which are delivered
    # again (or dead-lettered) whole.
    for processor in outlet.processors:
        if isinstance(processor, Buffer):
            processor._discard()
    if not dead_letter or not batches:
        _failed(link, failures, exc, message)
        return _STOP
    stage = staging.stage
    error = f"{type(exc).__name__}: {exc}"
    trace = "".join(traceback.format_exception(exc))
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
