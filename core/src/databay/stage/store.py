"""The built-in stage backend, :class:`SqliteStage`: a link's batches in an SQLite file.

One SQLite file per link, in WAL mode. Its tables:

``batches``
    one row per staged batch: ``id`` (never reused), ``created`` (when it was committed,
    Unix time, growing with ``id``: ``Stage.BATCH_TIME``), ``transfer`` (the update that
    staged it, e.g. ``todos.17``: ``Stage.BATCH_UPDATE``), ``size`` (records), ``codec``
    and ``records`` (see :mod:`databay.stage.codec`), ``delivered`` (when every outlet had
    acknowledged it, for a batch kept for the stage's retention).
``deliveries``
    one row per batch and outlet that has not acknowledged it: ``state`` is
    ``pending`` (to be delivered) or ``dead`` (dead-lettered: given up on, with
    ``attempts``, ``failed_at``, ``error`` and ``traceback``). A batch without deliveries
    left is deleted by the next write, or kept until its retention is over.
``inlet_states``
    each inlet's position (JSON), committed with the records it produced.
``intake``
    records pulled but held by a link-level :class:`~databay.support.buffers.Buffer`.
``stage_info``
    the schema version and the stage's ``uid``, which prefixes every batch and record id.

Every change is one transaction. ``fsync=False`` (SQLite ``synchronous=NORMAL``) survives
the process dying at any moment; ``fsync=True`` (``synchronous=FULL``) also survives the
machine losing power, at the cost of an fsync per commit.

A new stage file is made whole under a temporary name and then linked into place, so a
stage file is never empty: an empty one was truncated or made by something else, and
opening it is an error that changes nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import logging
import os
import resource
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from databay.errors import StageError, UndecodableBatchError
from databay.record import Record
from databay.redaction import redact
from databay.stage import codec
from databay.stage.base import DEAD, DELIVERED, PENDING, DeadLetter, OutletBacklog, Stage, StagedBatch

__all__ = ["DeadLetter", "OutletBacklog", "SqliteStage", "Stage", "StagedBatch"]

SCHEMA_VERSION = 2
"""2: tagged values (codec ``pickle5-tagged``) and delivered batches kept for a retention."""

INTAKE_OUTLET = "(intake)"
"""The outlet an intake row that cannot be decoded is dead-lettered for."""

_CHECKPOINT_PAGES = 8192
_FILES_PER_STAGE = 4  # the database, its -wal and -shm files, and the -lock file
_LOGGER = logging.getLogger("databay.Stage")

_TABLES = """
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
    records BLOB NOT NULL,
    delivered REAL
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

_INDEXES = """
CREATE INDEX IF NOT EXISTS deliveries_by_batch ON deliveries (batch);
CREATE INDEX IF NOT EXISTS batches_by_delivery ON batches (delivered) WHERE delivered IS NOT NULL;
"""

_UNCONVERTED = "pickle5-unconverted"  # a legacy batch `migrate` could not read


class SqliteStage(Stage):
    """The built-in stage: a link's batches in one SQLite file (registered as ``sqlite``).

    Give one to a link with ``Link(..., stage="path/to/link.stage")`` (the path is enough;
    the link makes the stage) or ``Link(..., stage=SqliteStage(path, fsync=True))``;
    ``Stage(path, ...)`` makes one too. In a pipeline: ``stage = "state/link.stage"``, or
    ``stage = { use = "sqlite", path = "state/link.stage", fsync = true }``. The file and its
    parent folders are created on first use. One running link uses a stage at a time: a
    second process opening it for a link gets a :class:`StageError`.

    :param path: the SQLite file.
    :param fsync: make every commit survive a power loss (SQLite ``synchronous=FULL``),
        not only a crash of the process (the default, ``synchronous=NORMAL``).
    :param timeout: seconds to wait for another process's write (e.g. ``databay stage
        --replay``) before failing.
    :param retention: keep delivered batches this long (seconds or a ``timedelta``);
        ``None`` (default): delete them once every outlet acknowledged them.
    """

    def __init__(self, path: str | os.PathLike, *, fsync: bool = False, timeout: float = 10.0,
                 retention: float | datetime.timedelta | None = None):
        self._path = Path(path)
        self.fsync = fsync
        self.timeout = timeout
        self.retention = retention
        self.uid = ""
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        self._lock_file: Any = None
        self._data_version = 0
        self._replayed_here = False  # replay/purge/forget through this object: seen like another's
        self._collectable: list[int] = []
        self._expired_at = 0.0
        self._converting = False
        self._newest_batch_time = 0.0

    @property
    def path(self) -> Path:
        """The SQLite file."""
        return self._path

    @property
    def location(self) -> str:
        return str(self._path)

    def exists(self) -> bool:
        return self._path.exists()

    # -- opening and closing -----------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether the SQLite file is open."""
        return self._connection is not None

    def open(self, exclusive: bool = False) -> SqliteStage:
        """Open (creating if needed) the stage file; nothing happens if it is open.

        :param exclusive: take the stage for one running link: fails if another process
            (or another link of this one) has it. Only then are delivered batches past
            their retention deleted.
        :raises StageError: it cannot be created, opened or locked; it is empty or not a
            stage; it was made by a newer databay, or holds batches of an earlier one
            (see :meth:`migrate`).
        """
        with self._lock:
            if self._connection is not None:
                return self
            try:
                self._path.parent.mkdir(parents=True, exist_ok=True)
                if exclusive:
                    self._take_lock()
                if not self._path.exists():
                    self._create()
                elif self._path.is_file() and self._path.stat().st_size == 0:
                    raise StageError(
                        f"stage {self._path} is an empty file (0 bytes), not a stage: databay never leaves a "
                        f"stage file empty, so it was truncated or made by something else. Nothing was changed; "
                        f"restore it from a backup, or move it away to start a new, empty stage")
                connection = sqlite3.connect(self._path, timeout=self.timeout, isolation_level=None,
                                             check_same_thread=False)
            except (OSError, sqlite3.Error) as exc:
                self._release_lock()
                raise self._error("cannot open", exc) from exc
            except StageError:
                self._release_lock()
                raise
            try:
                self._prepare(connection, exclusive)
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
        lock_path = self._path.with_name(self._path.name + "-lock")
        handle = open(lock_path, "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise StageError(f"stage {self._path} is in use by {holder}: a stage serves one running link "
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

    def _create(self) -> None:
        """Make a new stage file whole under a temporary name, then link it into place."""
        temporary = self._path.with_name(f".{self._path.name}.{os.getpid()}-{secrets.token_hex(4)}.new")
        try:
            connection = sqlite3.connect(temporary, isolation_level=None)
            try:
                self._set_journal(connection)
                connection.execute("BEGIN IMMEDIATE")
                _run_script(connection, _TABLES + _INDEXES)
                _new_info(connection)
                connection.execute("COMMIT")
            finally:
                connection.close()  # the last connection: the WAL is copied into the file
            try:
                os.link(temporary, self._path)
            except FileExistsError:
                pass  # another process made it meanwhile: that one is used
            except OSError:  # a file system without hard links
                if not self._path.exists():
                    os.replace(temporary, self._path)
        finally:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{temporary}{suffix}")

    def _set_journal(self, connection: sqlite3.Connection) -> None:
        mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StageError(f"stage {self._path}: SQLite refused WAL mode (got {mode!r})")

    def _prepare(self, connection: sqlite3.Connection, exclusive: bool) -> None:
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "stage_info" not in tables and tables - {"sqlite_sequence"}:
            raise StageError(f"stage {self._path} is an SQLite database but not a databay stage (it has the "
                             f"tables {', '.join(sorted(tables))}); nothing was changed: give the link a file of "
                             f"its own")
        self._set_journal(connection)
        connection.execute(f"PRAGMA synchronous={'FULL' if self.fsync else 'NORMAL'}")
        # Checkpoint (copy the WAL into the file, with two fsyncs) every 32 MB rather than
        # SQLite's 4 MB: on a busy disk those fsyncs take milliseconds, and every 4 MB (a
        # hundred 1,000-record batches) they tripled the median cost of a commit.
        connection.execute(f"PRAGMA wal_autocheckpoint={_CHECKPOINT_PAGES}")
        connection.execute(f"PRAGMA journal_size_limit={_CHECKPOINT_PAGES * 4096}")
        connection.execute("PRAGMA foreign_keys=OFF")
        connection.execute("BEGIN IMMEDIATE")
        try:
            info = self._upgraded(connection)
            # Batches acknowledged by every outlet just before the last run ended.
            connection.execute(_DELETE_UNWANTED_BATCHES)
            if exclusive:
                self._expire(connection, force=True)
            connection.execute("COMMIT")
        except BaseException:
            _rollback(connection)
            raise
        self.uid = info["uid"]
        self._data_version = connection.execute("PRAGMA data_version").fetchone()[0]
        newest = connection.execute("SELECT created FROM batches ORDER BY id DESC LIMIT 1").fetchone()
        self._newest_batch_time = max(self._newest_batch_time, newest[0] if newest else 0.0)

    def _upgraded(self, connection: sqlite3.Connection) -> dict[str, str]:
        """The stage's ``stage_info``, after making the schema current (inside a transaction)."""
        tables = {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        info = dict(connection.execute("SELECT key, value FROM stage_info").fetchall()) if tables else {}
        if info and int(info["schema"]) > SCHEMA_VERSION:
            raise StageError(f"stage {self._path} has schema {info['schema']}, made by a newer databay "
                             f"(this one reads schema {SCHEMA_VERSION})")
        _run_script(connection, _TABLES)
        if not info:
            info = _new_info(connection)
        elif int(info["schema"]) < 2:
            columns = {row[1] for row in connection.execute("PRAGMA table_info(batches)")}
            if "delivered" not in columns:
                connection.execute("ALTER TABLE batches ADD COLUMN delivered REAL")
            legacy = connection.execute(
                "SELECT (SELECT COUNT(*) FROM batches WHERE codec = ?) + (SELECT COUNT(*) FROM intake WHERE codec = ?)",
                (codec.LEGACY_CODEC, codec.LEGACY_CODEC)).fetchone()[0]
            if legacy and not self._converting:
                raise StageError(
                    f"stage {self._path} holds {legacy} batch(es) written by an earlier databay (format "
                    f"'{codec.LEGACY_CODEC}'), which this one does not read: decoding that format can build values "
                    f"far larger than the file and change classes. Nothing was changed. If you trust this file "
                    f"(your databay wrote it), convert it: databay stage PIPELINE --migrate; otherwise deliver "
                    f"them with the earlier databay first, or move the file away")
            if not legacy:
                connection.execute("UPDATE stage_info SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
        _run_script(connection, _INDEXES)
        return info

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

    def __repr__(self) -> str:
        return f"SqliteStage({str(self._path)!r})"

    # -- converting an earlier stage ---------------------------------------------------

    def migrate(self) -> tuple[int, int]:
        """Convert the batches an earlier databay wrote (format ``pickle5``) to the current
        format: ``(converted, unreadable)``.

        Reads them trusting the file (see :mod:`databay.stage.legacy`): only for a stage
        your own databay wrote. A batch that cannot be read stays, and is dead-lettered
        when a link loads it. Types the batches hold must be registered (import the
        plugins of the link's inlets) before.
        """
        from databay.errors import StageSerializationError
        from databay.stage import legacy

        with self._lock:
            self.close()
            self._converting = True
            try:
                self.open()
            finally:
                self._converting = False
            converted = unreadable = 0
            with self._writing("cannot convert", "the batches of an earlier databay") as connection:
                for table in ("batches", "intake"):
                    rows = connection.execute(f"SELECT id, records FROM {table} WHERE codec = ?",
                                              (codec.LEGACY_CODEC,)).fetchall()
                    for row_id, data in rows:
                        try:
                            payloads, metadata = legacy.decode(data)
                            encoded, codec_name = codec.encode(payloads, metadata), codec.CODEC
                            converted += 1
                        except (codec.DecodeError, StageSerializationError):
                            encoded, codec_name = data, _UNCONVERTED
                            unreadable += 1
                        connection.execute(f"UPDATE {table} SET codec = ?, records = ? WHERE id = ?",
                                           (codec_name, encoded, row_id))
                connection.execute("UPDATE stage_info SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))
            return converted, unreadable

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
        """Stage ``batches`` for ``outlets`` and save ``inlet_states``, in one transaction
        (see :meth:`Stage.commit`)."""
        encoded = self.encode_batches(batches, shared_metadata)
        intake = codec.encode_records(intake_records) if intake_records else None
        if not (encoded or inlet_states or clear_intake or intake):
            return []  # nothing to write: no transaction
        now = time.time()
        times = self.batch_times(len(encoded), self._newest_batch_time)
        ids: list[int] = []
        with self._writing("cannot commit transfer", transfer) as connection:
            self._collect(connection)
            for (size, data), created in zip(encoded, times):
                cursor = connection.execute(
                    "INSERT INTO batches (created, transfer, size, codec, records) VALUES (?, ?, ?, ?, ?)",
                    (created, transfer, size, codec.CODEC, data))
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
        if ids:
            self._newest_batch_time = times[-1]
            self.remember_origins(ids, times, transfer)
        return ids

    def intake(self) -> list[Record]:
        """The records held by a link-level buffer when the stage was last used, in order.

        A row that cannot be decoded is moved to the dead letters (outlet ``(intake)``)
        and the others are returned.
        """
        rows = self._reading("cannot read the intake", "SELECT id, codec, records FROM intake ORDER BY id")
        records: list[Record] = []
        for row_id, codec_name, data in rows:
            try:
                records.extend(_decoded(codec_name, data))
            except codec.DecodeError as exc:
                self._dead_letter_intake(row_id, str(exc))
        return records

    def _dead_letter_intake(self, row_id: int, reason: str) -> None:
        message = redact(f"stage {self._path}: records a link buffer held cannot be decoded: {reason}")
        with self._writing("cannot dead-letter the intake of", "") as connection:
            cursor = connection.execute(
                "INSERT INTO batches (created, transfer, size, codec, records) "
                "SELECT created, 'intake', 0, codec, records FROM intake WHERE id = ?", (row_id,))
            connection.execute("INSERT INTO deliveries (outlet, batch, state, failed_at, error, traceback) "
                               "VALUES (?, ?, 'dead', ?, ?, '')", (INTAKE_OUTLET, cursor.lastrowid, time.time(),
                                                                     message))
            connection.execute("DELETE FROM intake WHERE id = ?", (row_id,))
        _LOGGER.error("%s; moved to the dead letters (databay stage shows, exports and purges it)", message)

    @staticmethod
    def _save_states(connection: sqlite3.Connection, states: dict[str, str], now: float) -> None:
        connection.executemany(
            "INSERT INTO inlet_states (inlet, state, updated) VALUES (?, ?, ?) "
            "ON CONFLICT (inlet) DO UPDATE SET state = excluded.state, updated = excluded.updated",
            [(inlet, state, now) for inlet, state in states.items()])

    def inlet_states(self) -> dict[str, Any]:
        """``{inlet key: state}`` as last committed.

        :raises StageError: a stored state is not JSON (naming the file and the inlet).
        """
        rows = self._reading("cannot read inlet states", "SELECT inlet, state FROM inlet_states")
        states = {}
        for inlet, state in rows:
            try:
                states[inlet] = json.loads(state)
            except (TypeError, ValueError) as exc:
                raise StageError(
                    f"stage {self._path}: the stored state of inlet '{inlet}' is not JSON ({exc}). Nothing was "
                    f"changed: correct it, or delete it to let the inlet start from its own position "
                    f"(sqlite3 {self._path} \"DELETE FROM inlet_states WHERE inlet = '{inlet}'\")") from None
        return states

    def pending(self, outlet: str) -> list[int]:
        """Numbers of the batches ``outlet`` has yet to acknowledge (not dead-lettered), in order."""
        rows = self._reading(f"cannot list the pending batches of {outlet}",
                             "SELECT batch FROM deliveries WHERE outlet = ? AND state = 'pending' ORDER BY batch",
                             (outlet,))
        return [batch for (batch,) in rows]

    def read(self, batch: int) -> list[Record]:
        """The records of batch number ``batch``, stamped with their identities (see :meth:`Stage.read`)."""
        rows = self._reading(f"cannot read batch {batch}",
                             "SELECT codec, records, created, transfer FROM batches WHERE id = ?", (batch,))
        if not rows:
            raise StageError(f"stage {self._path}: batch {batch} is not staged")
        codec_name, data, created, transfer = rows[0]
        try:
            records = _decoded(codec_name, data)
        except codec.DecodeError as exc:
            raise UndecodableBatchError(redact(f"stage {self._path}: batch {batch} cannot be decoded: {exc}")
                                        ) from None
        self.stamp(records, batch, (created, transfer))
        return records

    def ack(self, outlet: str, batches: Iterable[int]) -> None:
        """``outlet`` acknowledged ``batches`` (durably, when this returns).

        Without retention, a batch nobody waits for any more is deleted by the next write
        (or :meth:`close`): freeing its pages in the transaction that stages the next batch
        costs less than a transaction of its own, and the new batch reuses them. With
        retention, it is marked delivered at once.
        """
        batches = list(batches)
        if not batches:
            return
        if self._retention is not None:
            with self._writing(f"cannot acknowledge {len(batches)} batches of", outlet) as connection:
                connection.executemany("DELETE FROM deliveries WHERE outlet = ? AND batch = ?",
                                       [(outlet, batch) for batch in batches])
                now = time.time()
                connection.executemany(_MARK_DELIVERED, [(now, batch) for batch in batches])
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
        """Delete the acknowledged batches nobody waits for, and those past their retention
        (inside a write transaction)."""
        collectable = self._collectable
        if len(collectable) == 1:
            connection.execute(_DELETE_BATCH_NOBODY_WANTS, collectable)
        elif collectable:
            connection.executemany(_DELETE_BATCH_NOBODY_WANTS, [(batch,) for batch in collectable])
        collectable.clear()
        if self._retention is not None:
            self._expire(connection)

    def _expire(self, connection: sqlite3.Connection, force: bool = False) -> None:
        """Delete delivered batches past the retention (all of them without one); at most
        once a second unless ``force``."""
        now = time.time()
        if not force and now - self._expired_at < 1.0:
            return
        self._expired_at = now
        cutoff = now - self._retention if self._retention is not None else float("inf")
        connection.execute("DELETE FROM batches WHERE delivered IS NOT NULL AND delivered < ?", (cutoff,))

    def dead_letter(self, outlet: str, batches: Iterable[int], error: str, traceback: str,
                    attempts: int) -> list[DeadLetter]:
        """``outlet`` gave up on ``batches`` after ``attempts``: keep them as dead letters
        with the error and its traceback (redacted). Returns them."""
        batches = list(batches)
        now = time.time()
        error, traceback = redact(error), redact(traceback)
        rows = [(attempts, now, error, traceback, outlet, batch) for batch in batches]
        with self._writing("cannot dead-letter batches of", outlet) as connection:
            connection.executemany(
                "UPDATE deliveries SET state = 'dead', attempts = attempts + ?, failed_at = ?, error = ?, "
                "traceback = ? WHERE outlet = ? AND batch = ?", rows)
            sizes = dict(connection.execute(
                f"SELECT id, size FROM batches WHERE id IN ({','.join('?' * len(batches))})", batches).fetchall())
        return [DeadLetter(self.location, outlet, self.batch_id(batch), sizes.get(batch, 0), attempts, now, error,
                           traceback) for batch in batches]

    def changed_elsewhere(self) -> bool:
        """Whether another connection (e.g. ``databay stage --replay``), or a replay, purge
        or forget through this object, changed the stage since the last call."""
        with self._lock:
            connection = self._require_open()
            try:
                version = connection.execute("PRAGMA data_version").fetchone()[0]
            except sqlite3.Error as exc:
                raise self._error("cannot read", exc) from exc
            # data_version only moves for other connections' commits.
            changed = version != self._data_version or self._replayed_here
            self._data_version, self._replayed_here = version, False
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

    def batches(self, states: Iterable[str] = (PENDING, DEAD, DELIVERED)) -> list[StagedBatch]:
        """The batches held in ``states``, oldest first (see :meth:`Stage.batches`)."""
        wanted = set(states)
        queries, args = [], []
        owed = sorted(wanted & {PENDING, DEAD})
        if owed:
            queries.append("SELECT b.id, d.outlet, d.state, b.created, b.transfer, b.size, d.attempts, d.failed_at, "
                           f"d.error FROM deliveries d JOIN batches b ON b.id = d.batch "
                           f"WHERE d.state IN ({','.join('?' * len(owed))})")
            args.extend(owed)
        if DELIVERED in wanted:
            queries.append("SELECT id, NULL, 'delivered', created, transfer, size, 0, delivered, NULL FROM batches "
                           "WHERE delivered IS NOT NULL")
        if not queries:
            return []
        rows = self._reading("cannot list batches", " UNION ALL ".join(queries) + " ORDER BY 1, 2", tuple(args))
        return [StagedBatch(batch, self.batch_id(batch), outlet, state, created, transfer, size, attempts, at, error)
                for batch, outlet, state, created, transfer, size, attempts, at, error in rows]

    def dead_letters(self, outlet: str | None = None) -> list[DeadLetter]:
        """The dead-lettered batches (of ``outlet``, or of all outlets), oldest first."""
        query = ("SELECT d.outlet, d.batch, b.size, d.attempts, d.failed_at, d.error, d.traceback "
                 "FROM deliveries d JOIN batches b ON b.id = d.batch WHERE d.state = 'dead'")
        args: tuple = ()
        if outlet is not None:
            query += " AND d.outlet = ?"
            args = (outlet,)
        rows = self._reading("cannot read dead letters", query + " ORDER BY d.batch, d.outlet", args)
        return [DeadLetter(self.location, o, self.batch_id(b), size, attempts, failed, error or "", tb or "")
                for o, b, size, attempts, failed, error, tb in rows]

    def replay(self, outlet: str | None = None) -> int:
        """Make dead-lettered batches (of ``outlet``, or all) pending again; returns how many.

        A running link delivers them at its next transfer, else the next run does.
        """
        where, args = ("AND outlet = ?", (outlet,)) if outlet is not None else ("", ())
        with self._writing("cannot replay dead letters of", outlet or "all outlets") as connection:
            cursor = connection.execute(f"UPDATE deliveries SET state = 'pending' WHERE state = 'dead' {where}", args)
            self._replayed_here = True
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
            self._replayed_here = True
            return len(rows)

    def forget(self, outlet: str) -> int:
        """Delete every delivery owed to ``outlet`` (pending or dead), e.g. an outlet its link
        no longer has; returns how many. Batches nobody else waits for are deleted."""
        with self._writing("cannot forget the batches of", outlet) as connection:
            count = connection.execute("DELETE FROM deliveries WHERE outlet = ?", (outlet,)).rowcount
            connection.execute(_DELETE_UNWANTED_BATCHES)
            self._replayed_here = True
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
        return _Transaction(self, f"{doing} {subject}".rstrip())

    def _error(self, doing: str, exc: BaseException) -> StageError:
        reason = str(exc) or type(exc).__name__
        if isinstance(exc, sqlite3.Error) and getattr(exc, "sqlite_errorname", None):
            reason = f"{reason} ({exc.sqlite_errorname})"
        if _out_of_files(exc):
            reason = f"{_too_many_open_files()} ({reason})"
        return StageError(f"stage {self._path}: {doing}: {reason}")


Stage.default_backend = SqliteStage


def _out_of_files(exc: BaseException) -> bool:
    """Whether ``exc`` may come from this process having (nearly) no file descriptor left."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.EMFILE, errno.ENFILE)
    name = getattr(exc, "sqlite_errorname", "") or ""
    if not name.startswith(("SQLITE_CANTOPEN", "SQLITE_IOERR")):
        return False
    # SQLite does not say why it could not open a file: count what this process has open.
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft == resource.RLIM_INFINITY:
        return False
    for listing in ("/proc/self/fd", "/dev/fd"):
        try:
            return len(os.listdir(listing)) + _FILES_PER_STAGE > soft
        except FileNotFoundError:
            continue
        except OSError as listing_failed:
            return listing_failed.errno in (errno.EMFILE, errno.ENFILE)
    return False


def _too_many_open_files() -> str:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft * 4, 4096)
    raise_hard = "" if hard == resource.RLIM_INFINITY or hard >= wanted else (
        " (above the hard limit, with LimitNOFILE= in a systemd unit or in /etc/security/limits.conf)")
    hard_text = "unlimited" if hard == resource.RLIM_INFINITY else f"{hard:,}"
    return (f"too many open files: this process may have {soft:,} open (RLIMIT_NOFILE, `ulimit -n`; hard limit "
            f"{hard_text}) and each staged link keeps up to {_FILES_PER_STAGE} (the stage file, its -wal, -shm and "
            f"-lock files): raise the limit, e.g. `ulimit -n {wanted}` before `databay run`{raise_hard}, or run "
            f"fewer staged links per process")


def _decoded(codec_name: str, data: bytes) -> list[Record]:
    if codec_name == codec.CODEC:
        return codec.decode_records(data)
    if codec_name == _UNCONVERTED:
        raise codec.DecodeError(f"it was written by an earlier databay (format '{codec.LEGACY_CODEC}') and could "
                                f"not be converted")
    raise codec.DecodeError(f"it is stored in the format {codec_name!r}, which this databay does not read")


class _Transaction:
    """``with stage._writing(...) as connection``: one ``BEGIN IMMEDIATE`` ... ``COMMIT``,
    rolled back (and reported as a :class:`StageError`) on any failure."""

    def __init__(self, stage: SqliteStage, doing: str):
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


def _run_script(connection: sqlite3.Connection, script: str) -> None:
    # executescript() would COMMIT the transaction we are in: run the statements one by one.
    for statement in script.split(";"):
        if statement.strip():
            connection.execute(statement)


def _new_info(connection: sqlite3.Connection) -> dict[str, str]:
    info = {"schema": str(SCHEMA_VERSION), "uid": secrets.token_hex(6), "created": str(time.time())}
    connection.executemany("INSERT INTO stage_info (key, value) VALUES (?, ?)", info.items())
    return info


_DELETE_BATCH_NOBODY_WANTS = ("DELETE FROM batches WHERE id = ?1 AND delivered IS NULL "
                              "AND NOT EXISTS (SELECT 1 FROM deliveries WHERE batch = ?1)")
_DELETE_UNWANTED_BATCHES = ("DELETE FROM batches WHERE delivered IS NULL "
                            "AND NOT EXISTS (SELECT 1 FROM deliveries WHERE batch = batches.id)")
_MARK_DELIVERED = ("UPDATE batches SET delivered = ?1 WHERE id = ?2 AND delivered IS NULL "
                   "AND NOT EXISTS (SELECT 1 FROM deliveries WHERE batch = ?2)")
