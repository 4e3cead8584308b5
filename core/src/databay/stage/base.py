"""The stage interface: what every stage backend promises, whatever it stores batches in.

:class:`Stage` is the abstract base of every backend. Core's built-in backend keeps a
link's batches in an SQLite file (:class:`~databay.stage.store.SqliteStage`, registered as
``sqlite``); a plugin adds another by subclassing :class:`Stage` and registering it::

    from databay import hookimpl

    @hookimpl
    def databay_register_stages(register):
        register("redis", "databay_redis.stage:RedisStage")

``Stage(path)`` itself still builds the SQLite stage, as before there were backends.

The guarantees a backend keeps (``databay.testing.StageTester`` checks each of them):

- **commit before delivery**: :meth:`Stage.commit` writes a transfer's batches, the
  deliveries owed to each outlet and the inlets' states in one atomic step; once it
  returns they survive the process (and a new :class:`Stage` object over the same
  storage sees them);
- **per-outlet acknowledgement**: :meth:`Stage.ack` settles one outlet's delivery of a
  batch and nobody else's; a batch leaves the stage once no outlet owes it (or, with
  :attr:`Stage.retention`, that long after);
- **order**: :meth:`Stage.pending` gives an outlet's batches in the order they were
  committed; batch numbers only grow and are never reused;
- **inlet states committed with records**: what :meth:`Stage.inlet_states` returns is
  always the state committed with the last batches committed;
- **dead letters**: :meth:`Stage.dead_letter` keeps a batch for one outlet with its error,
  :meth:`Stage.replay` makes it pending again (in order with the rest), :meth:`Stage.purge`
  deletes it;
- **poison batches**: :meth:`Stage.read` of a batch that cannot be decoded raises
  :class:`~databay.errors.UndecodableBatchError`, and :meth:`Stage.load` (what delivery
  calls) then moves it to the dead letters of every outlet that still owed it, with the
  reason, so that delivery goes on with the next batch;
- **stamps**: records delivered from a stage carry their batch's stamps in their metadata
  (:meth:`Stage.stamp`): :attr:`Stage.BATCH_ID`, :attr:`Stage.RECORD_ID`, and when and by
  which transfer the batch was committed, :attr:`Stage.BATCH_TIME` and
  :attr:`Stage.BATCH_UPDATE`; the same at the first delivery and at every redelivery, also
  from a new :class:`Stage` object (a new process) over the same storage. Batch times grow
  with batch numbers (:meth:`Stage.batch_times`);
- **no secrets**: error text is stored through :func:`databay.redaction.redact`.

Batches are stored as bytes made by :func:`databay.stage.codec.encode_records` (see that
module for what can be stored and the bounds decoding keeps).
"""

from __future__ import annotations

import abc
import datetime
import functools
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from databay.errors import StageError, UndecodableBatchError
from databay.outlet import MetadataKey
from databay.record import Record
from databay.stage.codec import encode_records

PENDING, DEAD, DELIVERED = "pending", "dead", "delivered"
"""The states of a batch for an outlet: owed, given up on, and delivered (kept for
:attr:`Stage.retention`)."""


@dataclass(frozen=True)
class OutletBacklog:
    """What a stage holds for one outlet in one state (``pending`` or ``dead``).

    ``oldest`` is the creation time (Unix seconds) of the oldest batch; ``last_failed_at``,
    ``last_error`` describe the latest failure recorded for these batches, if any.
    """

    outlet: str
    state: str
    batches: int
    records: int
    oldest: float
    last_failed_at: float | None
    last_error: str | None


@dataclass(frozen=True)
class DeadLetter:
    """One batch an outlet gave up on: which, how big, when, and why."""

    stage: str
    outlet: str
    batch_id: str
    size: int
    attempts: int
    failed_at: float
    error: str
    traceback: str


@dataclass(frozen=True)
class StagedBatch:
    """One batch a stage holds, as :meth:`Stage.batches` lists it.

    :param batch: the batch's number (what :meth:`Stage.load` takes).
    :param batch_id: its identity, ``'<stage uid>:<batch>'``.
    :param outlet: the outlet it is owed to (``pending``, ``dead``), or ``None`` for a
        ``delivered`` batch (every outlet acknowledged it).
    :param state: ``pending``, ``dead`` or ``delivered``.
    :param created: when it was committed (Unix seconds).
    :param transfer: the transfer that committed it, e.g. ``'todos.17'``.
    :param size: its number of records.
    :param attempts: for a dead letter, the attempts made.
    :param at: when it failed (``dead``) or was delivered (``delivered``).
    :param error: for a dead letter, why.
    """

    batch: int
    batch_id: str
    outlet: str | None
    state: str
    created: float
    transfer: str
    size: int
    attempts: int = 0
    at: float | None = None
    error: str | None = None


def retention_seconds(retention: float | datetime.timedelta | None) -> float | None:
    """``retention`` in seconds (``None``: delivered batches are not kept).

    :raises ValueError: negative, or not a number of seconds or a timedelta.
    """
    if retention is None:
        return None
    if isinstance(retention, datetime.timedelta):
        seconds = retention.total_seconds()
    elif isinstance(retention, (int, float)) and not isinstance(retention, bool):
        seconds = float(retention)
    else:
        raise ValueError(f"stage retention must be seconds or a timedelta, not {retention!r}")
    if not 0 <= seconds < float("inf"):
        raise ValueError(f"stage retention must be positive and finite, not {retention!r}")
    return seconds


class Stage(abc.ABC):
    """A link's durable stage: batches wait here until every outlet has acknowledged them.

    This is the interface every stage backend implements (see the module's docs for the
    guarantees). Calling ``Stage(path, ...)`` itself builds the built-in SQLite stage,
    :class:`~databay.stage.store.SqliteStage`, with the same arguments.

    Batches are numbered by the stage (numbers grow and are never reused); outlets and
    inlets are named by their link (class names, ``#2`` for a second of a class). Records
    delivered from a stage carry their batch's stamps in their metadata, the same at every
    redelivery: their identities, :attr:`BATCH_ID` and :attr:`RECORD_ID`, and the batch's
    commit, :attr:`BATCH_TIME` and :attr:`BATCH_UPDATE`. Outlets that name what they write
    (object keys, file names) take the time and the transfer from these, so that a
    redelivered batch gets the same names and overwrites its first copy.

    A backend sets :attr:`uid` when it is opened and implements the abstract methods;
    every method but :meth:`open` may open the stage on first use. Its :meth:`commit`
    stores each batch's time (from :meth:`batch_times`) and transfer, and tells
    :meth:`remember_origins` what it stored; its :meth:`read` passes them to :meth:`stamp`.
    """

    BATCH_ID: MetadataKey = "Stage.BATCH_ID"
    """Identity of the staged batch a record belongs to, ``'<stage uid>:<batch>'``."""

    RECORD_ID: MetadataKey = "Stage.RECORD_ID"
    """Identity of a staged record, ``'<stage uid>:<batch>:<index in the batch>'``;
    unique across stages (the uid is random per stage) and never reused."""

    BATCH_TIME: MetadataKey = "Stage.BATCH_TIME"
    """When the staged batch was committed: a timezone-aware :class:`~datetime.datetime` in
    UTC, to the microsecond. A later batch of the stage has a later time (batches of one
    commit are a microsecond apart). What outlets use instead of the time of the push, e.g.
    for ``{time:%Y/%m/%d}`` in a name."""

    BATCH_UPDATE: MetadataKey = "Stage.BATCH_UPDATE"
    """The transfer that committed the staged batch, as text: ``str(update)``, e.g.
    ``'todos.17'`` (the link's tags joined with ``.``, then the transfer number; the number
    alone for a link without tags). What outlets use instead of the update of the push."""

    default_backend: ClassVar[type[Stage]]
    """What ``Stage(...)`` builds: the SQLite stage (set by :mod:`databay.stage.store`)."""

    uid: str = ""
    """The stage's random identity, which prefixes every batch and record id (set by :meth:`open`)."""

    _retention: float | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Stage:
        if cls is Stage:
            cls = Stage.default_backend
        return super().__new__(cls)

    # -- what it is --------------------------------------------------------------

    @property
    def location(self) -> str:
        """Where the stage lives (a file, a server and key...), as messages name it."""
        return repr(self)

    @property
    def path(self) -> Any:
        """:attr:`location` (the SQLite stage's file, a ``Path``, overrides it)."""
        return self.location

    @property
    def retention(self) -> float | None:
        """Seconds delivered batches are kept (listed and exported by ``databay stage``),
        or ``None`` (the default): deleted once every outlet acknowledged them.

        Set it with seconds or a ``timedelta``.
        """
        return self._retention

    @retention.setter
    def retention(self, value: float | datetime.timedelta | None) -> None:
        self._retention = retention_seconds(value)

    def exists(self) -> bool:
        """Whether there is a stage to open without creating one (``databay stage``
        creates none). Backends that cannot tell say ``True``."""
        return True

    # -- opening and closing -----------------------------------------------------

    @property
    @abc.abstractmethod
    def is_open(self) -> bool:
        """Whether the stage is open."""

    @abc.abstractmethod
    def open(self, exclusive: bool = False) -> Stage:
        """Open (creating it if needed) the stage; nothing happens if it is open. Returns it.

        :param exclusive: take the stage for one running link: fails if another process
            (or another link) has it.
        :raises StageError: it cannot be created, opened or taken.
        """

    @abc.abstractmethod
    def close(self) -> None:
        """Close the stage and give up the link's hold on it; it reopens on next use."""

    def __enter__(self) -> Stage:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the transfer side ---------------------------------------------------------

    @abc.abstractmethod
    def commit(
        self,
        transfer: str,
        batches: Sequence[Sequence[Record]],
        outlets: Sequence[str],
        inlet_states: dict[str, str] | None = None,
        clear_intake: bool = False,
        intake_records: Sequence[Record] = (),
        shared_metadata: Sequence[dict | None] = (),
    ) -> list[int]:
        """Stage ``batches`` for ``outlets`` and save ``inlet_states``, all or nothing.

        :param transfer: the update staging them (``str(update)``), stored with each batch
            (what :attr:`BATCH_UPDATE` holds).
        :param inlet_states: ``{inlet key: JSON text}``.
        :param clear_intake: also empty the intake (a link buffer released its records).
        :param intake_records: records to add to the intake (a link buffer holds them).
        :param shared_metadata: per batch, the dict every record's metadata is an untouched
            copy of, or ``None``: such metadata may be stored once for the batch.
        :returns: the new batches' numbers, in order. Their commit times (stored with each,
            what :attr:`BATCH_TIME` holds) come from :meth:`batch_times`; once written, they
            and ``transfer`` are given to :meth:`remember_origins`.
        :raises StageSerializationError: a record cannot be stored (nothing is written).
        :raises StageError: the commit failed (nothing is written).
        """

    @abc.abstractmethod
    def intake(self) -> list[Record]:
        """The records held by a link-level buffer when the stage was last used, in order."""

    @abc.abstractmethod
    def inlet_states(self) -> dict[str, Any]:
        """``{inlet key: state}`` as last committed (the JSON decoded).

        :raises StageError: a stored state is not JSON (naming the stage and the inlet).
        """

    @abc.abstractmethod
    def pending(self, outlet: str) -> list[int]:
        """Numbers of the batches ``outlet`` has yet to acknowledge (not dead-lettered), in order."""

    @abc.abstractmethod
    def read(self, batch: int) -> list[Record]:
        """The records of batch number ``batch``, stamped (:meth:`stamp`, with the time and
        transfer stored with the batch), changing nothing (``databay stage --export`` reads
        batches this way).

        :raises UndecodableBatchError: the batch cannot be decoded (the message says why).
        :raises StageError: it is not staged, or the stage cannot be read.
        """

    def load(self, batch: int) -> list[Record]:
        """The records of batch number ``batch`` for delivery: :meth:`read`, and a batch that
        cannot be decoded is moved to the dead letters of every outlet still owing it.

        :raises UndecodableBatchError: the batch cannot be decoded; it has been moved to
            the dead letters, with the reason: delivery goes on with the next batch.
        :raises StageError: it is not staged, or the stage cannot be read or written.
        """
        try:
            return self.read(batch)
        except UndecodableBatchError as exc:
            reason = str(exc)
        owing = [entry.outlet for entry in self.batches([PENDING]) if entry.batch == batch and entry.outlet]
        for outlet in owing:
            self.dead_letter(outlet, [batch], reason, "", 0)
        if owing:
            reason += f"; moved to the dead letters of {', '.join(owing)} (databay stage shows, exports and purges it)"
        raise UndecodableBatchError(reason)

    def stamp(self, records: Sequence[Record], batch: int, origin: tuple[float, str] | None = None) -> None:
        """Write the stamps of batch number ``batch`` into its records' metadata:
        :attr:`BATCH_ID`, :attr:`RECORD_ID`, :attr:`BATCH_TIME` and :attr:`BATCH_UPDATE`.

        :param origin: the batch's commit time (Unix seconds) and transfer as stored: what
            :meth:`read` passes. Without it, those :meth:`remember_origins` kept for a batch
            of this object's last :meth:`commit` (a link stamps its new batches this way,
            right after committing them).
        :raises StageError: no ``origin``, and ``batch`` is not one of the last commit's.
        """
        if origin is None:
            remembered = self._origins.get(batch)
            if remembered is None:
                raise StageError(f"stage {self.location}: batch {batch} is not one of the last commit's: give "
                                 f"stamp() the time and transfer stored with it")
            when, transfer = remembered
        else:
            when, transfer = datetime.datetime.fromtimestamp(origin[0], datetime.UTC), origin[1]
        batch_id = self.batch_id(batch)
        suffixes = self._record_suffixes
        if len(suffixes) < len(records):
            suffixes.extend(f":{index}" for index in range(len(suffixes), len(records)))
        batch_key, record_key, time_key, update_key = self.BATCH_ID, self.RECORD_ID, self.BATCH_TIME, self.BATCH_UPDATE
        # A plain loop: ~0.12 us a record; map(dict.__setitem__, ...) and dict.update() were slower.
        for record, suffix in zip(records, suffixes):
            metadata = record._metadata
            metadata[batch_key] = batch_id
            metadata[record_key] = batch_id + suffix
            metadata[time_key] = when
            metadata[update_key] = transfer

    def remember_origins(self, batches: Sequence[int], times: Sequence[float], transfer: str) -> None:
        """Keep the commit times (Unix seconds) and the transfer just stored for ``batches``,
        so that :meth:`stamp` of them needs no read. A backend's :meth:`commit` calls it once
        it succeeded; it replaces what the previous commit kept."""
        utc, fromtimestamp = datetime.UTC, datetime.datetime.fromtimestamp
        self._origins = {batch: (fromtimestamp(at, utc), transfer) for batch, at in zip(batches, times)}

    @staticmethod
    def batch_times(count: int, after: float = 0.0) -> list[float]:
        """Commit times (Unix seconds) for ``count`` new batches: now, in whole microseconds,
        a microsecond apart, and later than ``after`` (the newest batch time the stage has
        given), so that batch times grow with batch numbers even if the clock goes back."""
        first = max(time.time_ns() // 1000, round(after * 1_000_000) + 1)
        return [(first + offset) / 1_000_000 for offset in range(count)]

    @staticmethod
    def encode_batches(batches: Sequence[Sequence[Record]],
                       shared_metadata: Sequence[dict | None] = ()) -> list[tuple[int, bytes]]:
        """What :meth:`commit` stores of ``batches``: each one's number of records and its
        bytes (:func:`~databay.stage.encode_records`, given the batch's entry of
        ``shared_metadata`` when it has one).

        :raises StageSerializationError: a record holds a value a stage cannot store.
        """
        shared = list(shared_metadata) + [None] * (len(batches) - len(shared_metadata))
        return [(len(batch), encode_records(batch, common)) for batch, common in zip(batches, shared)]

    @functools.cached_property
    def _record_suffixes(self) -> list[str]:
        return []  # ':0', ':1'..., made once per stage object as batches need them

    @functools.cached_property
    def _origins(self) -> dict[int, tuple[datetime.datetime, str]]:
        return {}  # batch -> (commit time, transfer) of the last commit (remember_origins)

    def batch_id(self, batch: int) -> str:
        """The identity of batch number ``batch`` (what :attr:`BATCH_ID` holds)."""
        return f"{self.uid}:{batch}"

    @abc.abstractmethod
    def ack(self, outlet: str, batches: Iterable[int]) -> None:
        """``outlet`` acknowledged ``batches`` (durably, when this returns)."""

    @abc.abstractmethod
    def dead_letter(self, outlet: str, batches: Iterable[int], error: str, traceback: str,
                    attempts: int) -> list[DeadLetter]:
        """``outlet`` gave up on ``batches`` after ``attempts``: keep them as its dead letters
        with the error and its traceback (stored redacted). Returns them."""

    def changed_elsewhere(self) -> bool:
        """Whether another process (``databay stage --replay``), or :meth:`replay`,
        :meth:`purge` or :meth:`forget` called on this object, may have changed the stage
        since the last call. A backend that cannot tell says ``True``: the link then asks
        :meth:`pending` again at every transfer."""
        return True

    def claim(self) -> bool:
        """Take the stage for the transfer about to run; whether another :class:`Stage`
        object (another process) committed to it since this one last committed or claimed.

        For stages that several processes use in turn, each transfer in whichever process
        runs it (the workers of a distributed planner): when this returns ``True`` the link
        takes the stage's state as its own again before pulling, as after a restart (the
        inlets' positions and the intake are restored, what link-level stateful processors
        held is discarded, records it could not commit are kept but not their positions).
        A backend overriding it is asked at every transfer, in the planner's thread pool.
        The default, for stages one process uses at a time (the SQLite stage), is
        ``False``, and the link never asks.
        """
        return False

    # -- operating -----------------------------------------------------------------

    @abc.abstractmethod
    def backlog(self) -> list[OutletBacklog]:
        """What is pending and dead-lettered, per outlet and state."""

    @abc.abstractmethod
    def batches(self, states: Iterable[str] = (PENDING, DEAD, DELIVERED)) -> list[StagedBatch]:
        """The batches the stage holds in ``states``, oldest first: one entry per outlet
        owing a pending or dead batch, one per delivered (kept) batch."""

    @abc.abstractmethod
    def dead_letters(self, outlet: str | None = None) -> list[DeadLetter]:
        """The dead-lettered batches (of ``outlet``, or of all outlets), oldest first."""

    @abc.abstractmethod
    def replay(self, outlet: str | None = None) -> int:
        """Make dead-lettered batches (of ``outlet``, or all) pending again; returns how many."""

    @abc.abstractmethod
    def purge(self, outlet: str | None = None) -> int:
        """Delete dead-lettered batches (of ``outlet``, or all); returns how many deliveries."""

    @abc.abstractmethod
    def forget(self, outlet: str) -> int:
        """Delete every delivery owed to ``outlet`` (pending or dead); returns how many."""

    def integrity_check(self) -> str:
        """``'ok'``, or what is wrong with the stored data (backends that cannot check say ``'ok'``)."""
        return "ok"
