"""The :class:`SqlOutlet`: writes records as rows of a database table, one transaction per push."""

from __future__ import annotations

import logging
import operator
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from databay import Outlet
from databay.printable import describe_record, short_repr
from databay.stage import Stage

from databay_sql.database import Database, OnDatabase, qualified
from databay_sql.errors import SqlColumnError
from databay_sql.upsert import UPSERT_DIALECTS, unique_key_of, upsert_statement

if TYPE_CHECKING:
    from databay import Record, Update
    from sqlalchemy.engine import Connection

__all__ = ["SqlOutlet"]

_LOGGER = logging.getLogger("databay.SqlOutlet")

_MODES = ("insert", "upsert")
_MAX_STATEMENTS = 64  # statements kept per outlet, one per set of columns seen
_PAYLOAD = operator.attrgetter("payload")


class SqlOutlet(OnDatabase, Outlet):
    """Outlet writing each record as a row of a database table, through SQLAlchemy.

    **Records to rows.** A record's payload is a mapping (a dict) of column name to value:
    one row. A list payload gives one row per element. Keys must be columns of the table
    (reflected from the database on the first push): a key the table does not have raises
    :class:`~databay_sql.errors.SqlColumnError` naming the column, the record and the table,
    and nothing of the push is written; a column a row does not name gets its default
    (``DEFAULT`` or ``NULL``). Values go to the driver as they are, converted by the
    column's type (``datetime`` for timestamps, a dict for a JSON column...).

    **Pushes.** Each push is one transaction: every row of the push is written, or none
    is. Rows are sent with one ``executemany`` per run of rows naming the same columns
    (one for a push whose records all have the same keys).

    **Modes.** ``'insert'`` (default) inserts every row. ``'upsert'`` inserts a row, or
    updates the row with the same ``key`` columns if there is one (``INSERT ... ON
    CONFLICT (key) DO UPDATE``, on PostgreSQL and SQLite). The ``key`` columns must be the
    table's primary key or a unique constraint (or unique index), and every row must name
    them. An upsert is idempotent: a staged link delivering a batch again (after a crash
    between the commit and the stage's acknowledgement) leaves no duplicate row.

    **Stable ids.** With ``record_id_column``, each row also gets the record's stable id
    from a staged link (``Stage.RECORD_ID``, plus ``.N`` for element ``N`` of a list
    payload) in that column; with ``mode='upsert'`` that column is the default ``key``. So
    a table without a natural key is written exactly once too.

    :param url: An SQLAlchemy URL, e.g. ``'sqlite:///data.db'`` or
        ``'postgresql+psycopg://app:${PGPASSWORD}@db.example.com/shop'``. The password is
        never shown: messages render the URL with ``***`` in its place.
    :param table: The table to write to; it must exist.
    :param mode: ``'insert'`` (default) or ``'upsert'``.
    :param key: With ``mode='upsert'``: the column (or list of columns) that identifies a
        row: the primary key or a unique constraint of the table.
    :param schema: The table's schema (PostgreSQL), if not the default one.
    :param record_id_column: A column that receives each record's stable id (see above).
    :param timeout: Seconds to wait when connecting, or for a locked SQLite database.
    :param engine_options: Further ``sqlalchemy.create_engine`` arguments (``pool_size``,
        ``connect_args``, ...).

    Remaining arguments (``processors``, ``retry``) go to :class:`~databay.Outlet`.

    Errors name the database (URL with the password hidden) and the table:
    :class:`~databay_sql.errors.SqlConnectionError` (unreachable, wrong credentials,
    connection lost), :class:`~databay_sql.errors.SqlTableNotFound`,
    :class:`~databay_sql.errors.SqlColumnError` and
    :class:`~databay_sql.errors.SqlOperationError` (constraint violation, permission
    denied, disk full...). A failed push wrote nothing, and is retried as the link's or
    the outlet's ``RetryPolicy`` says; on a staged link its batch waits in the stage.
    """

    def __init__(
        self,
        url: str,
        table: str,
        mode: Literal["insert", "upsert"] = "insert",
        key: str | list[str] | None = None,
        *,
        schema: str | None = None,
        record_id_column: str | None = None,
        timeout: float = 10.0,
        engine_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        _check_name("table", table)
        if schema is not None:
            _check_name("schema", schema)
        if record_id_column is not None:
            _check_name("record_id_column", record_id_column)
        if mode not in _MODES:
            raise ValueError(f"SqlOutlet: mode must be 'insert' or 'upsert', got {mode!r}")
        keys = _key_columns(key, record_id_column if mode == "upsert" else None)
        if mode == "upsert" and not keys:
            raise ValueError("SqlOutlet: mode='upsert' needs key: the column(s) that identify a row "
                             "(its primary key or a unique constraint), or a record_id_column")
        if mode == "insert" and keys:
            raise ValueError("SqlOutlet: key is only used with mode='upsert'")
        self._database = Database("SqlOutlet", url, timeout, engine_options)
        if mode == "upsert" and self._database.dialect not in UPSERT_DIALECTS:
            raise ValueError(f"SqlOutlet: mode='upsert' works on {' and '.join(UPSERT_DIALECTS)}, "
                             f"not on {self._database.dialect} ({self._database.shown_url})")
        self.table = table
        self.schema = schema
        self.mode = mode
        self.key: tuple[str, ...] = keys
        self.record_id_column = record_id_column
        self._table: sa.Table | None = None
        self._statements: dict[frozenset[str], Any] = {}
        self._lock = threading.Lock()

    def on_shutdown(self) -> None:
        """Close the pooled connections; the table is reflected again after a restart."""
        with self._lock:
            self._table = None
            self._statements.clear()
        self._database.dispose()

    def push(self, records: list[Record], update: Update) -> None:
        """Write the records' rows in one transaction.

        :param records: Records whose payloads are dicts (or lists of dicts) of column values.
        :param update: The transfer this push belongs to.
        """
        rows = self._rows(records)
        if not rows:
            return
        runs = _runs_of_same_columns(rows)
        where = qualified(self.table, self.schema)
        doing = f"{'insert' if self.mode == 'insert' else 'upsert'} {len(rows)} row(s) into table '{where}'"
        with self._database.connection(doing, begin=True) as connection:
            table = self._checked_table(connection, records, runs)
            for columns, run in runs:
                connection.execute(self._statement(table, columns), run)
        _LOGGER.info("%s wrote %d row(s) to %s at %s", update, len(rows), where, self._database.shown_url)

    def _rows(self, records: list[Record]) -> list[dict[str, Any]]:
        """The rows of ``records``' payloads, in order (one per dict, one per element of a list)."""
        payloads = list(map(_PAYLOAD, records))
        if self.record_id_column is None and set(map(type, payloads)) == {dict}:
            return payloads  # the common case, checked in C
        rows: list[dict[str, Any]] = []
        add = rows.append
        id_column = self.record_id_column
        for index, record in enumerate(records):
            payload = record.payload
            if type(payload) is dict and id_column is None:
                add(payload)
                continue
            elements = payload if isinstance(payload, list) else [payload]
            for position, element in enumerate(elements):
                if not isinstance(element, Mapping):
                    raise TypeError(_not_a_row(index, record, position if elements is payload else None, element,
                                               qualified(self.table, self.schema)))
                row = element if type(element) is dict else dict(element)
                if id_column is not None:
                    row = self._with_record_id(row, index, record, position if elements is payload else None)
                add(row)
        return rows

    def _with_record_id(self, row: dict[str, Any], index: int, record: Record, position: int | None) -> dict:
        column = self.record_id_column
        assert column is not None
        if column in row:
            raise SqlColumnError(
                f"SqlOutlet cannot write {describe_record(record, index)} to table "
                f"'{qualified(self.table, self.schema)}': it has a column '{column}' of its own, which is the "
                f"record_id_column. Nothing of this push was written")
        record_id = record.metadata.get(Stage.RECORD_ID)
        if record_id is None:
            raise ValueError(
                f"SqlOutlet cannot give {describe_record(record, index)} a stable id for column "
                f"'{column}': it has no metadata['{Stage.RECORD_ID}'] (records get one on a link with a stage)")
        return {**row, column: record_id if position is None else f"{record_id}.{position}"}

    def _checked_table(self, connection: Connection, records: list[Record], runs: list) -> sa.Table:
        """The reflected table, once every column the rows name (and the key) is one of its columns."""
        columns = {column for names, _ in runs for column in names}
        table = self._reflected(connection)
        unknown = columns.difference(table.c.keys())
        if unknown:  # perhaps a column added since the table was reflected
            table = self._reflected(connection, again=True)
            unknown = columns.difference(table.c.keys())
        if unknown:
            raise SqlColumnError(self._unknown_column_message(records, unknown, table))
        if self.key and not all(set(self.key).issubset(names) for names, _ in runs):
            raise SqlColumnError(self._missing_key_message(records))
        return table

    def _reflected(self, connection: Connection, again: bool = False) -> sa.Table:
        with self._lock:
            if self._table is None or again:
                table = self._database.reflect(connection, self.table, self.schema)
                if self.key:
                    self._database.check_columns(table, "key column(s)", self.key)
                    if not unique_key_of(connection, table, self.key):
                        raise SqlColumnError(
                            f"SqlOutlet: key ({', '.join(self.key)}) is neither the primary key nor a unique "
                            f"constraint of table '{qualified(self.table, self.schema)}' at "
                            f"{self._database.shown_url}; an upsert needs one to find the row to update")
                self._table = table
                self._statements.clear()
            return self._table

    def _statement(self, table: sa.Table, columns: Any) -> Any:
        """The INSERT (or upsert) of rows naming ``columns``, built once per set of columns."""
        names = frozenset(columns)
        statement = self._statements.get(names)
        if statement is None:
            if self.mode == "upsert":
                statement = upsert_statement(self._database.dialect, table, self.key, names)
            else:
                statement = sa.insert(table)
            if len(self._statements) >= _MAX_STATEMENTS:
                self._statements.clear()
            self._statements[names] = statement
        return statement

    def _payloads(self, records: list[Record]):
        """``(record index, row payload)`` for every row, in order."""
        for index, record in enumerate(records):
            payload = record.payload
            for element in payload if isinstance(payload, list) else [payload]:
                yield index, element

    def _unknown_column_message(self, records: list[Record], unknown: set[str], table: sa.Table) -> str:
        where = qualified(self.table, self.schema)
        for index, payload in self._payloads(records):
            named = [column for column in payload if column in unknown]
            if named:
                return (f"SqlOutlet cannot write {describe_record(records[index], index)} to table "
                        f"'{where}' at {self._database.shown_url}: it has no column {named[0]!r} "
                        f"(its columns: {', '.join(table.c.keys())}). Nothing of this push was written")
        return (f"SqlOutlet: table '{where}' at {self._database.shown_url} has no column(s) "
                f"{', '.join(sorted(map(str, unknown)))} (its columns: {', '.join(table.c.keys())})")

    def _missing_key_message(self, records: list[Record]) -> str:
        for index, payload in self._payloads(records):
            missing = [k for k in self.key if k not in payload and k != self.record_id_column]
            if missing:
                return (f"SqlOutlet cannot upsert {describe_record(records[index], index)} into table "
                        f"'{qualified(self.table, self.schema)}' at {self._database.shown_url}: it lacks the key "
                        f"column(s) {', '.join(missing)}. Nothing of this push was written")
        return f"SqlOutlet: a row lacks a key column ({', '.join(self.key)})"

    def __repr__(self) -> str:
        return f"SqlOutlet({qualified(self.table, self.schema)} at {self._database.shown_url})"


def _runs_of_same_columns(rows: list[dict[str, Any]]) -> list[tuple[tuple[str, ...], list[dict[str, Any]]]]:
    """Consecutive rows naming the same columns (in the same order), grouped: one
    ``executemany`` each."""
    columns = list(map(tuple, rows))  # each row's keys
    if columns.count(columns[0]) == len(columns):
        return [(columns[0], rows)]  # the common case, checked in C
    runs: list[tuple[tuple[str, ...], list[dict[str, Any]]]] = []
    current: list[dict[str, Any]] = []
    previous = None
    for names, row in zip(columns, rows):
        if names != previous:
            previous, current = names, []
            runs.append((names, current))
        current.append(row)
    return runs


def _key_columns(key: str | Sequence[str] | None, record_id_column: str | None) -> tuple[str, ...]:
    if key is None:
        return (record_id_column,) if record_id_column else ()
    keys = [key] if isinstance(key, str) else key
    if not isinstance(keys, Sequence) or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError(f"SqlOutlet: key must be a column name or a list of column names, got {key!r}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"SqlOutlet: key names a column twice: {list(keys)}")
    return tuple(keys)


def _check_name(argument: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"SqlOutlet: {argument} must be a non-empty string, got {value!r}")


def _not_a_row(index: int, record: Record, position: int | None, value: Any, table: str) -> str:
    return (f"SqlOutlet cannot write {describe_record(record, index, position)} to table '{table}': a row must "
            f"be a mapping (dict) of column names to values, or a list of them, got {type(value).__name__} "
            f"{short_repr(value)}. Nothing of this push was written")

