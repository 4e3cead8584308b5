"""The :class:`SqlInlet`: reads the rows added to a table (or a query's result) since the last pull."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from databay import Inlet
from databay.stage import register_type

from databay_sql import cursor_values
from databay_sql.database import Database, OnDatabase, qualified
from databay_sql.errors import SqlColumnError

if TYPE_CHECKING:
    from databay import Update
    from sqlalchemy.engine import Connection

__all__ = ["SqlInlet"]

_LOGGER = logging.getLogger("databay.SqlInlet")

# psycopg gives inet/cidr values as ipaddress objects: let a staged link keep them.
for _kind in (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network,
              ipaddress.IPv4Interface, ipaddress.IPv6Interface):
    register_type(_kind)

_QUERY_ALIAS = "databay_source"
_SHOWN_QUERY = 60  # characters of a query quoted in messages


class SqlInlet(OnDatabase, Inlet):
    """Inlet producing the rows added to a table (or to a query's result) since its last pull.

    Each pull reads the rows whose ``cursor`` column is greater than the greatest value
    read so far (:attr:`position`), in ascending ``cursor`` order, at most ``batch_size``
    of them, and produces one record per row: a dict of column name to value. The cursor
    must grow as rows are added: an auto-increment id, a sequence number, or a timestamp
    the writer sets. Rows whose cursor is ``NULL`` are never read. Pulls are executed
    synchronously, each on a pooled connection.

    **Ties.** A pull never stops inside a run of rows sharing one cursor value: if the
    ``batch_size``-th row's value is shared by rows beyond the limit, they are read too (a
    pull may exceed ``batch_size`` by that many). So rows present at a pull are never
    skipped. A row added *later* with a value equal to (or below) the position is not read:
    with a timestamp that several rows may share, make the cursor a list ending with a
    unique, growing column, e.g. ``cursor=['updated_at', 'id']``; rows are then ordered and
    compared on both, ``(updated_at, id) > (last_updated_at, last_id)``.

    **Position.** The position lives in memory (:attr:`position`, settable). On a link
    with a stage it is committed with the records each pull produced and restored on
    restart (:meth:`get_state`/:meth:`set_state`), so each row is read once across
    restarts and a crash never skips rows.

    :param url: An SQLAlchemy URL, e.g. ``'sqlite:///data.db'`` or
        ``'postgresql+psycopg://app:${PGPASSWORD}@db.example.com/shop'``; the password
        never appears in messages.
    :param table: The table to read; give either ``table`` or ``query``.
    :param cursor: The growing column (or list of columns) rows are ordered by and read past.
    :param query: A ``SELECT`` whose result is read instead of a table, e.g.
        ``"SELECT id, total FROM orders WHERE status = :status"``; it must return the
        ``cursor`` column(s). It is wrapped as ``SELECT * FROM (<query>) AS databay_source
        WHERE <cursor> > :position ORDER BY <cursor> LIMIT <batch_size>``.
    :param parameters: Values of the query's ``:name`` parameters.
    :param batch_size: At most this many rows per pull (plus ties, see above); ``None``:
        every new row.
    :param schema: The table's schema (PostgreSQL), if not the default one.
    :param start_after: Initial :attr:`position`: only rows whose cursor is greater are read
        (a list, one value per cursor column, for a compound cursor). ``None``: from the first row.
    :param timeout: Seconds to wait when connecting, or for a locked SQLite database.
    :param engine_options: Further ``sqlalchemy.create_engine`` arguments.

    Remaining arguments (``metadata``, ``retry``) go to :class:`~databay.Inlet`.

    Errors name the database (URL with the password hidden) and the table or query:
    :class:`~databay_sql.errors.SqlConnectionError`,
    :class:`~databay_sql.errors.SqlTableNotFound`,
    :class:`~databay_sql.errors.SqlColumnError` (no such cursor column) and
    :class:`~databay_sql.errors.SqlOperationError` (permission denied, an invalid query...).
    A failed pull does not move the position.
    """

    def __init__(
        self,
        url: str,
        table: str | None = None,
        *,
        cursor: str | list[str],
        query: str | None = None,
        parameters: dict[str, Any] | None = None,
        batch_size: int | None = 1000,
        schema: str | None = None,
        start_after: Any = None,
        timeout: float = 10.0,
        engine_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if (table is None) == (query is None):
            raise ValueError("SqlInlet: give either table (a table's name) or query (a SELECT), not both or neither")
        for argument, value in (("table", table), ("query", query), ("schema", schema)):
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise ValueError(f"SqlInlet: {argument} must be a non-empty string, got {value!r}")
        if parameters is not None and query is None:
            raise ValueError("SqlInlet: parameters are the values of a query's :name parameters; give a query")
        if parameters is not None and not isinstance(parameters, Mapping):
            raise TypeError(f"SqlInlet: parameters must be a mapping of names to values, got {type(parameters).__name__}")
        if batch_size is not None and (isinstance(batch_size, bool) or not isinstance(batch_size, int)
                                       or batch_size < 1):
            raise ValueError(f"SqlInlet: batch_size must be a positive integer or None, got {batch_size!r}")
        self.cursor: tuple[str, ...] = _cursor_columns(cursor)
        self.table = table
        self.query = query
        self.schema = schema
        self.batch_size = batch_size
        self._text = _query_text(query, parameters, self.cursor) if query is not None else None
        self._database = Database("SqlInlet", url, timeout, engine_options)
        self._position = self._as_position(start_after)
        self._source: Any = None
        self._lock = threading.Lock()

    @property
    def position(self) -> tuple[Any, ...] | None:
        """Cursor value(s) of the last row produced, one per cursor column (``None``: nothing
        read yet). Settable: a value for a one-column cursor, or a list of values."""
        return self._position

    @position.setter
    def position(self, value: Any) -> None:
        self._position = self._as_position(value)

    def on_shutdown(self) -> None:
        """Close the pooled connections; a table is reflected again after a restart."""
        with self._lock:
            self._source = None
        self._database.dispose()

    def pull(self, update: Update) -> list[dict[str, Any]]:
        """Read the rows past :attr:`position` and move the position to the last one read.

        :param update: The transfer this pull belongs to.
        """
        with self._lock:  # pulls of one inlet shared by several links must not interleave
            with self._database.connection(f"read new rows of {self._described}") as connection:
                source = self._readable(connection)
                columns = [source.c[name] for name in self.cursor]
                query = sa.select(sa.literal_column("*")).select_from(source) if self._text is not None \
                    else sa.select(source)
                query = query.where(*self._past(columns, self.position)).order_by(*columns)
                if self.batch_size is not None:
                    query = query.limit(self.batch_size)
                rows = _as_dicts(connection.execute(query))
                if self.batch_size is not None and len(rows) == self.batch_size:
                    rows = self._with_ties(connection, query, columns, rows)
            if rows:
                last = self._cursor_of(rows[-1])
                for name, value in zip(self.cursor, last):
                    try:
                        cursor_values.encode(value)  # refuse now what could not be kept as the position
                    except TypeError as exc:
                        raise TypeError(f"SqlInlet: cursor column '{name}' of {self._described}: {exc}") from None
                self.position = last
            return rows

    def get_state(self) -> dict[str, Any] | None:
        """The position as JSON: ``{"cursor": ["id"], "after": [1234]}`` (with ``"table"`` when
        reading a table); ``None`` before anything was read."""
        if self.position is None:
            return None
        state: dict[str, Any] = {"cursor": list(self.cursor), "after": [cursor_values.encode(v) for v in self.position]}
        if self.table is not None:
            state["table"] = qualified(self.table, self.schema)
        return state

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue after the position in ``state`` (from :meth:`get_state`). A state saved
        for other cursor columns or another table is ignored, with a warning."""
        table = qualified(self.table, self.schema) if self.table is not None else None
        if state.get("cursor") != list(self.cursor) or state.get("table") != table:
            _LOGGER.warning("%s: ignoring a saved position for cursor %r of %s (this inlet reads %s by %r)", self,
                            state.get("cursor"), state.get("table") or "a query", self._described, list(self.cursor))
            return
        self.position = tuple(cursor_values.decode(value) for value in state["after"])

    @property
    def _described(self) -> str:
        if self.table is not None:
            return f"table '{qualified(self.table, self.schema)}'"
        text = " ".join(str(self.query).split())
        return f"query '{text[:_SHOWN_QUERY - 3]}...'" if len(text) > _SHOWN_QUERY else f"query '{text}'"

    def _readable(self, connection: Connection) -> Any:
        """The table (reflected once) or the query as a subquery, with the cursor columns checked."""
        if self._source is None:
            if self._text is not None:
                self._source = self._text.subquery(_QUERY_ALIAS)
            else:
                assert self.table is not None
                table = self._database.reflect(connection, self.table, self.schema)
                self._database.check_columns(table, "cursor column(s)", self.cursor)
                self._source = table
        return self._source

    @staticmethod
    def _past(columns: list[Any], position: tuple[Any, ...] | None) -> list[Any]:
        """Conditions for the rows after ``position``, none of whose cursor columns is NULL."""
        conditions = [column.is_not(None) for column in columns]
        if position is not None:
            values = [sa.literal(value, type_=column.type) for column, value in zip(columns, position)]
            if len(columns) == 1:
                conditions.append(columns[0] > values[0])
            else:
                conditions.append(sa.tuple_(*columns) > sa.tuple_(*values))
        return conditions

    def _with_ties(self, connection: Connection, query: Any, columns: list[Any],
                   rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``rows`` (a full batch) with every row sharing the last one's cursor value, also
        those the limit cut off."""
        last = self._cursor_of(rows[-1])
        kept = [row for row in rows if self._cursor_of(row) != last]
        same = query.limit(None).where(*(column == sa.literal(value, type_=column.type)
                                         for column, value in zip(columns, last)))
        return kept + _as_dicts(connection.execute(same))

    def _cursor_of(self, row: dict[str, Any]) -> tuple[Any, ...]:
        try:
            return tuple(row[name] for name in self.cursor)
        except KeyError as exc:
            raise SqlColumnError(f"SqlInlet: the rows of {self._described} at {self._database.shown_url} have no "
                                 f"cursor column {exc.args[0]!r} (they have: {', '.join(row)})") from None

    def _as_position(self, value: Any) -> tuple[Any, ...] | None:
        if value is None:
            return None
        values = list(value) if isinstance(value, list | tuple) else [value]
        if len(values) != len(self.cursor):
            raise ValueError(f"SqlInlet: a position needs one value per cursor column {list(self.cursor)}, "
                             f"got {value!r}")
        return tuple(values)

    def __repr__(self) -> str:
        source = qualified(self.table, self.schema) if self.table is not None else "query"
        return f"SqlInlet({source} at {self._database.shown_url})"


def _as_dicts(result: Any) -> list[dict[str, Any]]:
    """The rows of ``result`` as dicts keyed by plain ``str`` column names (SQLAlchemy's own
    name type, ``quoted_name``, is not something a stage keeps)."""
    keys = [str(key) for key in result.keys()]
    return [dict(zip(keys, row)) for row in result]


def _cursor_columns(cursor: Any) -> tuple[str, ...]:
    columns = [cursor] if isinstance(cursor, str) else cursor
    if not isinstance(columns, list | tuple) or not columns or not all(isinstance(c, str) and c for c in columns):
        raise ValueError(f"SqlInlet: cursor must be a column name or a list of column names, got {cursor!r}")
    if len(set(columns)) != len(columns):
        raise ValueError(f"SqlInlet: cursor names a column twice: {list(columns)}")
    return tuple(columns)


def _query_text(query: str, parameters: Mapping[str, Any] | None, cursor: tuple[str, ...]) -> Any:
    """The query as a textual SELECT whose cursor columns can be referred to."""
    text = sa.text(query.strip().rstrip(";"))
    if parameters:
        try:
            text = text.bindparams(**parameters)
        except sa.exc.ArgumentError as exc:
            raise ValueError(f"SqlInlet: parameters do not fit the query: {exc}") from None
    return text.columns(*(sa.column(name) for name in cursor))
