"""The :class:`Stage`: a link's durable store of batches not yet delivered, on SQLite.

One SQLite file per link, in WAL mode. Its tables:

``batches``
    one row per staged batch: ``id`` (never reused), ``created`` (Unix time),
    ``transfer`` (the update that staged it, e.g. ``todos.17``), ``size`` (records),
    ``codec`` and ``records`` (see :mod:`databay.stage.codec`).
``deliveries``
    one row per batch and outlet that has not acknowledged it: ``state`` is
    ``pending`` (to be delivered) or ``dead`` (dead-lettered: given up on, with
    ``attempts``, ``failed_at``, ``error`` and ``traceback``). A batch without deliveries
    left is deleted by the next write.
``inlet_states``
    each inlet's position (JSON), committed with the records it produced.
``intake``
    records pulled but held by a link-level :class:`~databay.support.buffers.Buffer`.
``stage_info``
    the schema version and the stage's ``uid``, which prefixes every batch and record id.

Every change is one transaction. ``fsync=False`` (SQLite ``synchronous=NORMAL``) survives
the process dying at any moment; ``fsync=True`` (``synchronous=FULL``) also survives the
machine losing power, at the cost of an fsync per commit.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from databay.errors import StageError
from databay.outlet import MetadataKey
from databay.record import Record
from databay.stage import codec

SCHEMA_VERSION = 1
_CHECKPOINT_PAGES = 8192

_SCHEMA = """
CREATE TABLE IF NOT EXISTS stage_info (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    transfer TEXT NOT NULL,
    size INTEGER NOT NULL,
    codec TEXT NOT NULL,
    records BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    outlet TEXT NOT NULL,
    batch INTEGER NOT NULL REFERENCES batches (id),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    failed_at REAL,
    error TEXT,
    traceback TEXT,
    PRIMARY KEY (outlet, batch)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_batch ON deliveries (batch);
CREATE TABLE IF NOT EXISTS inlet_states (
    inlet TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS intake (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created REAL NOT NULL,
    codec TEXT NOT NULL,
    records BLOB NOT NULL
);
"""


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


class Stage:
    """A link's durable stage: batches wait here until every outlet has acknowledged them.

    Give one to a link with ``Link(..., stage="path/to/link.stage")`` (the path is enough;
    the link makes the :class:`Stage`) or ``Link(..., stage=Stage(path, fsync=True))``.
    The file and its parent folders are created on first use. One running link uses a
    stage at a time: a second process opening it for a link gets a :class:`StageError`.

    :param path: the SQLite file.
    :param fsync: make every commit survive a power loss (SQLite ``synchronous=FULL``),
        not only a crash of the process (the default, ``synchronous=NORMAL``).
    :param timeout: seconds to wait for another process's write (e.g. ``databay stage
        --replay``) before failing.

    Records delivered from a stage carry their identities in their metadata:
    :attr:`BATCH_ID` and :attr:`RECORD_ID`, the same at every redelivery.
    """

    BATCH_ID: MetadataKey = "Stage.BATCH_ID"
    """Identity of the staged batch a record belongs to, ``'<stage uid>:<batch>'``."""

    RECORD_ID: MetadataKey = "Stage.RECORD_ID"
    """Identity of a staged record, ``'<stage uid>:<batch>:<index in the batch>'``;
    unique across stages (the uid is random per stage file) and never reused."""

    def __init__(self, path: str | os.PathLike, *, fsync: bool = False, timeout: float = 10.0):
        self.path = Path(path)
        self.fsync = fsync
        self.timeout = timeout
        self.uid = ""
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._lock_file: Any = None
        self._suffixes: list[str] = []
        self._data_version = 0
        self._collectable: list[int] = []

    # -- opening and closing -----------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the SQLite file is open."""
        return self._connection is not None

    def open(self, exclusive: bool = False) -> Stage:
        """Open (creating if needed) the stage file; nothing happens if it is open.

        :param exclusive: take the stage for one running link: fails if another process
            (or another link of this one) has it.
        :raises StageError: it cannot be created, opened or locked, or it was made by a
            newer databay.
        """
        with self._lock:
            if self._connection is not None:
                return self
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                if exclusive:
                    self._take_lock()
                connection = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                             check_same_thread=False)
            except (OSError, sqlite3.Error) as exc:
                self._release_lock()
                raise self._error("cannot open", exc) from exc
            try:
                self._prepare(connection)
            except (OSError, sqlite3.Error) as exc:
                connection.close()
                self._release_lock()
                raise self._error("cannot open", exc) from exc
            except StageError:
                connection.close()
                self._release_lock()
                raise
            self._connection = connection
            return self

    def _take_lock(self) -> None:
        lock_path = self.path.with_name(self.path.name + "-lock")
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StageError(f"stage {self.path} is in use by {holder}: a stage serves one running link "
                             f"at a time") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"process {os.getpid()}\n")
        handle.flush()
        self._lock_file = handle

    def _release_lock(self) -> None:
        handle, self._lock_file = self._lock_file, None
        if handle is not None:
            handle.close()  # closing releases the flock

    def _prepare(self, connection: sqlite3.Connection) -> None:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StageError(f"stage {self.path}: SQLite refused WAL mode (got {mode!r})")
        connection.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
        # Checkpoint (copy the WAL into the file, with two fsyncs) every 32 MB rather than
        # SQLite's 4 MB: on a busy disk those fsyncs take milliseconds, and every 4 MB (a
        # hundred 1,000-record batches) they tripled the median cost of a commit.
        connection.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        connection.execute(f"PRAGMA journal_size_limit={_CHECKPOINT_PAGES * 4096}")
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("BEGIN IMMEDIATE")
        try:
            _create_schema(connection)
            # Batches acknowledged by every outlet just before the last run ended.
            connection.execute(_DELETE_UNWANTED_BATCHES)
            info = dict(connection.execute("SELECT key, value FROM stage_info").fetchall())
            if not info:
                info = {"schema": str(SCHEMA_VERSION), "uid": secrets.token_hex(6),
                        "created": str(time.time())}
                connection.executemany("INSERT INTO stage_info (key, value) VALUES (?, ?)", info.items())
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                connection.execute("ROLLBACK")
            raise
        if int(info["schema"]) > SCHEMA_VERSION:
            raise StageError(f"stage {self.path} has schema {info['schema']}, made by a newer databay "
                             f"(this one reads schema {SCHEMA_VERSION})")
        self.uid = info["uid"]
        self._data_version = connection.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        """Delete what was acknowledged, close the file and give up the link's hold on it.

        The stage reopens on next use.
        """
        with self._lock:
            if self._collectable and self._connection is not None:
                try:
                    with self._writing("cannot delete acknowledged batches", "") as connection:
                        self._collect(connection)
                except StageError:
                    pass  # they are deleted the next time the stage is opened
            closing, self._connection = self._connection, None
            if closing is not None:
                closing.close()
            self._release_lock()

    def __enter__(self) -> Stage:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Stage({str(self.path)!r})"

    # -- the transfer side ---------------------------------------------------------

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
        """Stage ``batches`` for ``outlets`` and save ``inlet_states``, in one transaction.

        :param transfer: the update staging them (``str(update)``).
        :param inlet_states: ``{inlet key: JSON text}``.
        :param clear_intake: also empty the intake (a link buffer released its records).
        :param intake_records: records to add to the intake (a link buffer holds them).
        :param shared_metadata: per batch, the dict every record's metadata is an untouched
            copy of, or ``None``: such metadata is stored once for the batch.
        :returns: the new batches' numbers, in order.
        :raises StageSerializationError: a record cannot be stored (nothing is written).
        :raises StageError: the transaction failed (nothing is written).
        """
        shared = list(shared_metadata) + [None] * (len(batches) - len(shared_metadata))
        encoded = [(len(batch), encode_records(batch, common)) for batch, common in zip(batches, shared)]
        intake = encode_records(intake_records) if intake_records else None
        if not (encoded or inlet_states or clear_intake or intake):
            return []  # nothing to write: no transaction
        now = time.time()
        ids: list[int] = []
        with self._writing("cannot commit transfer", transfer) as connection:
            self._collect(connection)
            for size, data in encoded:
                cursor = connection.execute(
                    "INSERT INTO batches (created, transfer, size, codec, records) VALUES (?, ?, ?, ?, ?)",
                    (now, transfer, size, codec.CODEC, data))
                batch = cursor.lastrowid
                assert batch is not None  # set by every INSERT that succeeded
                ids.append(batch)
            if len(outlets) == 1 and len(ids) == 1:
                connection.execute("INSERT INTO deliveries (outlet, batch) VALUES (?, ?)", (outlets[0], ids[0]))
            elif outlets and ids:
                connection.executemany("INSERT INTO deliveries (outlet, batch) VALUES (?, ?)",
                                       [(outlet, batch) for batch in ids for outlet in outlets])
            if inlet_states:
                self._save_states(connection, inlet_states, now)
            if clear_intake:
                connection.execute("DELETE FROM intake")
            if intake is not None:
                connection.execute("INSERT INTO intake (created, codec, records) VALUES (?, ?, ?)",
                                   (now, codec.CODEC, intake))
        return ids

    def intake(self) -> list[Record]:
        """The records held by a link-level buffer when the stage was last used, in order."""
        rows = self._reading("cannot read the intake", "SELECT codec, records FROM intake ORDER BY id")
        records: list[Record] = []
        for codec_name, data in rows:
            records.extend(self._decode(codec_name, data, "the intake"))
        return records

    @staticmethod
    def _save_states(connection: sqlite3.Connection, states: dict[str, str], now: float) -> None:
        connection.executemany(
            "INSERT INTO inlet_states (inlet, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (inlet) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            [(inlet, state, now) for inlet, state in states.items()])

    def inlet_states(self) -> dict[str, Any]:
        """``{inlet key: state}`` as last committed."""
        rows = self._reading("cannot read inlet states", "SELECT inlet, state FROM inlet_states")
        return {inlet: json.loads(state) for inlet, state in rows}

    def pending(self, outlet: str) -> list[int]:
        """Numbers of the batches ``outlet`` has yet to acknowledge (not dead-lettered), in order."""
        rows = self._reading(f"cannot list the pending batches of {outlet}",
                             "SELECT batch FROM deliveries WHERE outlet = ? AND state = 'pending' ORDER BY batch",
                             (outlet,))
        return [batch for (batch,) in rows]

    def load(self, batch: int) -> list[Record]:
        """The records of batch number ``batch``, stamped with their identities."""
        rows = self._reading(f"cannot read batch {batch}", "SELECT codec, records FROM batches WHERE id = ?",
                             (batch,))
        if not rows:
            raise StageError(f"stage {self.path}: batch {batch} is not staged")
        records = self._decode(rows[0][0], rows[0][1], f"batch {batch}")
        self.stamp(records, batch)
        return records

    def _decode(self, codec_name: str, data: bytes, what: str) -> list[Record]:
        if codec_name != codec.CODEC:
            raise StageError(f"stage {self.path}: {what} is encoded as {codec_name!r}, which this databay "
                             f"cannot read")
        try:
            payloads, metadata = codec.decode(data)
        except Exception as exc:
            raise StageError(f"stage {self.path}: cannot read {what}: {exc}") from exc
        return list(map(Record, payloads, metadata))

    def stamp(self, records: Sequence[Record], batch: int) -> None:
        """Write :attr:`BATCH_ID` and :attr:`RECORD_ID` into the records' metadata."""
        batch_id = f"{self.uid}:{batch}"
        suffixes = self._suffixes
        if len(suffixes) < len(records):
            suffixes.extend(f":{index}" for index in range(len(suffixes), len(records)))
        batch_key, record_key = self.BATCH_ID, self.RECORD_ID
        # A plain loop: ~65 us for 1,000 records, three times faster than map(dict.__setitem__, ...).
        for record, suffix in zip(records, suffixes):
            metadata = record._metadata
            metadata[batch_key] = batch_id
            metadata[record_key] = batch_id + suffix

    def batch_id(self, batch: int) -> str:
        """The identity of batch number ``batch`` (what :attr:`BATCH_ID` holds)."""
        return f"{self.uid}:{batch}"

    def ack(self, outlet: str, batches: Iterable[int]) -> None:
        """``outlet`` acknowledged ``batches`` (durably, when this returns).

        A batch nobody waits for any more is deleted by the next write (or :meth:`close`):
        freeing its pages in the transaction that stages the next batch costs less than
        a transaction of its own, and the new batch reuses them.
        """
        batches = list(batches)
        if not batches:
            return
        if len(batches) == 1:
            # One statement is a transaction of its own: no BEGIN and COMMIT round trips.
            with self._lock:
                connection = self._require_open()
                try:
                    connection.execute("DELETE FROM deliveries WHERE outlet = ? AND batch = ?", (outlet, batches[0]))
                except sqlite3.Error as exc:
                    raise self._error(f"cannot acknowledge batch {batches[0]} of {outlet}", exc) from exc
        else:
            with self._writing(f"cannot acknowledge {len(batches)} batches of", outlet) as connection:
                connection.executemany("DELETE FROM deliveries WHERE outlet = ? AND batch = ?",
                                       [(outlet, batch) for batch in batches])
        self._collectable.extend(batches)

    def _collect(self, connection: sqlite3.Connection) -> None:
        """Delete the acknowledged batches nobody waits for (inside a write transaction)."""
        collectable = self._collectable
        if len(collectable) == 1:
            connection.execute(_DELETE_BATCH_NOBODY_WANTS, collectable)
        elif collectable:
            connection.executemany(_DELETE_BATCH_NOBODY_WANTS, [(batch,) for batch in collectable])
        collectable.clear()

    def dead_letter(self, outlet: str, batches: Iterable[int], error: str, traceback: str,
                    attempts: int) -> list[DeadLetter]:
        """``outlet`` gave up on ``batches`` after ``attempts``: keep them as dead letters
        with the error and its traceback. Returns them."""
        batches = list(batches)
        now = time.time()
        rows = [(attempts, now, error, traceback, outlet, batch) for batch in batches]
        with self._writing("cannot dead-letter batches of", outlet) as connection:
            connection.executemany(
                "UPDATE deliveries SET state = 'dead', attempts = attempts + ?, failed_at = ?, error = ?, "
                "traceback = ? WHERE outlet = ? AND batch = ?", rows)
            sizes = dict(connection.execute(
                f"SELECT id, size FROM batches WHERE id IN ({','.join('?' * len(batches))})", batches).fetchall())
        return [DeadLetter(str(self.path), outlet, self.batch_id(batch), sizes.get(batch, 0), attempts, now, error,
                           traceback) for batch in batches]

    def changed_elsewhere(self) -> bool:
        """Whether another connection (e.g. ``databay stage --replay``) changed the stage
        since the last call."""
        with self._lock:
            connection = self._require_open()
            try:
                version = connection.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as exc:
                raise self._error("cannot read", exc) from exc
            changed, self._data_version = version != self._data_version, version
            return changed

    # -- operating -----------------------------------------------------------------

    def backlog(self) -> list[OutletBacklog]:
        """What is pending and dead-lettered, per outlet and state."""
        rows = self._reading(
            "cannot read",
            "SELECT d.outlet, d.state, COUNT(*), SUM(b.size), MIN(b.created), MAX(d.failed_at) "
            "FROM deliveries d JOIN batches b ON b.id = d.batch GROUP BY d.outlet, d.state "
            "ORDER BY d.outlet, d.state DESC")
        result = []
        for outlet, state, batches, records, oldest, last_failed in rows:
            error = None
            if last_failed is not None:
                found = self._reading("cannot read", "SELECT error FROM deliveries WHERE outlet = ? AND state = ? "
                                      "AND failed_at = ? LIMIT 1", (outlet, state, last_failed))
                error = found[0][0] if found else None
            result.append(OutletBacklog(outlet, state, batches, records or 0, oldest, last_failed, error))
        return result

    def dead_letters(self, outlet: str | None = None) -> list[DeadLetter]:
        """The dead-lettered batches (of ``outlet``, or of all outlets), oldest first."""
        query = ("SELECT d.outlet, d.batch, b.size, d.attempts, d.failed_at, d.error, d.traceback "
                 "FROM deliveries d JOIN batches b ON b.id = d.batch WHERE d.state = 'dead'")
        args: tuple = ()
        if outlet is not None:
            query += " AND d.outlet = ?"
            args = (outlet,)
        rows = self._reading("cannot read dead letters", query + " ORDER BY d.batch, d.outlet", args)
        return [DeadLetter(str(self.path), o, self.batch_id(b), size, attempts, failed, error or "", tb or "")
                for o, b, size, attempts, failed, error, tb in rows]

    def replay(self, outlet: str | None = None) -> int:
        """Make dead-lettered batches (of ``outlet``, or all) pending again; returns how many.

        A running link delivers them at its next transfer, else the next run does.
        """
        where, args = ("AND outlet = ?", (outlet,)) if outlet is not None else ("", ())
        with self._writing("cannot replay dead letters of", outlet or "all outlets") as connection:
            cursor = connection.execute(f"UPDATE deliveries SET state = 'pending' WHERE state = 'dead' {where}", args)
            return cursor.rowcount

    def purge(self, outlet: str | None = None) -> int:
        """Delete dead-lettered batches (of ``outlet``, or all); returns how many deliveries.

        A batch is deleted once no outlet waits for it any more.
        """
        where, args = ("AND outlet = ?", (outlet,)) if outlet is not None else ("", ())
        with self._writing("cannot purge dead letters of", outlet or "all outlets") as connection:
            rows = connection.execute(f"SELECT outlet, batch FROM deliveries WHERE state = 'dead' {where}",
                                      args).fetchall()
            connection.executemany("DELETE FROM deliveries WHERE outlet = ? AND batch = ?", rows)
            connection.execute(_DELETE_UNWANTED_BATCHES)
            return len(rows)

    def forget(self, outlet: str) -> int:
        """Delete every delivery owed to ``outlet`` (pending or dead), e.g. an outlet its link
        no longer has; returns how many. Batches nobody else waits for are deleted."""
        with self._writing("cannot forget the batches of", outlet) as connection:
            count = connection.execute("DELETE FROM deliveries WHERE outlet = ?", (outlet,)).rowcount
            connection.execute(_DELETE_UNWANTED_BATCHES)
            return count

    def integrity_check(self) -> str:
        """SQLite's ``PRAGMA integrity_check``: ``'ok'`` or what is wrong."""
        rows = self._reading("cannot check", "PRAGMA integrity_check")
        return "\n".join(str(row[0]) for row in rows)

    # -- plumbing --------------------------------------------------------------------

    def _require_open(self) -> sqlite3.Connection:
        connection = self._connection
        if connection is None:
            self.open()
            connection = self._connection
            assert connection is not None
        return connection

    def _reading(self, doing: str, query: str, args: tuple = ()) -> list:
        with self._lock:
            connection = self._require_open()
            try:
                return connection.execute(query, args).fetchall()
            except sqlite3.Error as exc:
                raise self._error(doing, exc) from exc

    def _writing(self, doing: str, subject: str) -> _Transaction:
        return _Transaction(self, f"{doing} {subject}")

    def _error(self, doing: str, exc: BaseException) -> StageError:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorname", None):
            reason = f"{reason} ({exc.sqlite_errorname})"
        return StageError(f"stage {self.path}: {doing}: {reason}")


class _Transaction:
    """``with stage._writing(...) as connection``: one ``BEGIN IMMEDIATE`` ... ``COMMIT``,
    rolled back (and reported as a :class:`StageError`) on any failure."""

    def __init__(self, stage: Stage, doing: str):
        self._stage = stage
        self._doing = doing

    def __enter__(self) -> sqlite3.Connection:
        stage = self._stage
        stage._lock.acquire()
        try:
            connection = stage._require_open()
            connection.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            stage._lock.release()
            if isinstance(exc, sqlite3.Error):
                raise stage._error(self._doing, exc) from exc
            raise
        self._connection = connection
        return connection

    def __exit__(self, kind, exc, traceback) -> None:
        stage, connection = self._stage, self._connection
        try:
            if exc is None:
                try:
                    connection.execute("COMMIT")
                    return
                except sqlite3.Error as commit_error:
                    exc = commit_error
            _rollback(connection)
            if isinstance(exc, sqlite3.Error):
                raise stage._error(self._doing, exc) from exc
        finally:
            stage._lock.release()


def _rollback(connection: sqlite3.Connection) -> None:
    try:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # SQLite rolled back by itself (a full disk or an I/O error does)


def _create_schema(connection: sqlite3.Connection) -> None:
    # executescript() would COMMIT the transaction we are in: run the statements one by one.
    for statement in _SCHEMA.split(";"):
        if statement.strip():
            connection.execute(statement)


_DELETE_BATCH_NOBODY_WANTS = "DELETE FROM batches WHERE id = ?1 AND NOT EXISTS (SELECT 1 FROM deliveries WHERE batch = ?1)"
_DELETE_UNWANTED_BATCHES = "DELETE FROM batches WHERE NOT EXISTS (SELECT 1 FROM deliveries WHERE batch = batches.id)"


def encode_records(records: Sequence[Record], shared_metadata: dict | None = None) -> bytes:
    """Encode records for the stage (see :mod:`databay.stage.codec`).

    :param shared_metadata: the dict every record's metadata is an untouched copy of, if
        known: stored once instead of once per record.
    """
    # List comprehensions: twice as fast as map(attrgetter(...)) on slots in Python 3.11.
    payloads = [record._payload for record in records]
    if shared_metadata is not None:
        return codec.encode(payloads, shared_metadata)
    return codec.encode(payloads, [record._metadata for record in records])
