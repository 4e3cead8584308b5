"""Where an SQL component connects: its URL, its SQLAlchemy engine, and how failures are told.

Shared by :class:`~databay_sql.outlet.SqlOutlet` and :class:`~databay_sql.inlet.SqlInlet`.
The URL's password is registered with :mod:`databay.redaction` and never shown: messages
name the database by its URL rendered with the password hidden (``***``).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import sqlalchemy as sa
from databay.redaction import redact, register_secret
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from databay_sql.errors import (
    SqlColumnError,
    SqlConnectionError,
    SqlError,
    SqlOperationError,
    SqlTableNotFound,
)

_LISTED_TABLES = 20  # at most this many existing tables are named when one is missing
_REASON_LENGTH = 400
_PASSWORD_IN_TEXT = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


class Database:
    """The database a component reads or writes: a URL and the engine that connects to it.

    :param owner: names the component in messages (``"SqlOutlet"``).
    :param url: an SQLAlchemy URL (``dialect+driver://user:password@host:port/database``),
        as text or a ``sqlalchemy.engine.URL``.
    :param timeout: seconds to wait when connecting (PostgreSQL's ``connect_timeout``) or
        for a locked SQLite database (``timeout``).
    :param engine_options: further ``sqlalchemy.create_engine`` keyword arguments; its
        ``connect_args`` are merged with the defaults above.
    :raises ValueError: the URL cannot be parsed, its dialect is unknown or its driver is
        not installed, or ``engine_options`` are invalid.
    """

    def __init__(self, owner: str, url: str | URL, timeout: float,
                 engine_options: Mapping[str, Any] | None = None):
        self.owner = owner
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
            raise ValueError(f"{owner}: timeout must be a positive number of seconds, got {timeout!r}")
        if engine_options is not None and not isinstance(engine_options, Mapping):
            raise TypeError(f"{owner}: engine_options must be a mapping of create_engine() arguments, "
                            f"got {type(engine_options).__name__}")
        self.url = _parse(owner, url)
        if self.url.password:
            register_secret(str(self.url.password))
        self.shown_url = self.url.render_as_string(hide_password=True)
        """The URL with its password hidden: how messages name the database."""
        self.engine = self._create_engine(float(timeout), dict(engine_options or {}))

    @property
    def dialect(self) -> str:
        """The SQLAlchemy dialect's name: ``'sqlite'``, ``'postgresql'``..."""
        return self.engine.dialect.name

    def _create_engine(self, timeout: float, options: dict[str, Any]) -> Engine:
        backend = self.url.get_backend_name()
        try:
            driver = self.url.get_driver_name()
        except sa_exc.NoSuchModuleError as exc:
            raise ValueError(f"{self.owner}: SQLAlchemy has no dialect for {self.shown_url}: {reason(exc)}") from None
        connect_args: dict[str, Any] = {}
        # A pooled connection to a server is tested before use, so that one the server closed
        # (a restart) is replaced instead of failing a push; SQLite has no server to lose.
        defaults: dict[str, Any] = {"hide_parameters": True, "pool_pre_ping": backend != "sqlite"}
        if backend == "postgresql" and driver in ("psycopg", "psycopg2"):
            connect_args["connect_timeout"] = max(1, math.ceil(timeout))
        elif backend == "sqlite":
            connect_args["timeout"] = timeout
            if self.url.database in (None, "", ":memory:"):
                # One in-memory database for the component's life, whichever thread pushes.
                connect_args["check_same_thread"] = False
                defaults["poolclass"] = StaticPool
        extra = options.pop("connect_args", None) or {}
        if not isinstance(extra, Mapping):
            raise ValueError(f"{self.owner}: engine_options' connect_args must be a mapping of driver arguments, "
                             f"got {type(extra).__name__}")
        connect_args.update(extra)
        try:
            return sa.create_engine(self.url, **{**defaults, **options, "connect_args": connect_args})
        except ImportError as exc:
            hint = (" (for PostgreSQL: pip install 'databay-sql[postgresql]' and use "
                    "postgresql+psycopg://...)" if backend == "postgresql" else "")
            raise ValueError(f"{self.owner}: the database driver for {self.shown_url} is not installed: "
                             f"{exc}{hint}") from None
        except (TypeError, sa_exc.ArgumentError) as exc:
            raise ValueError(f"{self.owner}: invalid engine_options for {self.shown_url}: {reason(exc)}") from None

    @contextlib.contextmanager
    def connection(self, doing: str, begin: bool = False) -> Iterator[Connection]:
        """A connection for the ``with`` block (in a transaction committed at its end if
        ``begin``); SQLAlchemy's errors become this package's, naming what was being done.

        :param doing: e.g. ``"insert 10 row(s) into table 'events'"``.
        :raises SqlConnectionError: the database cannot be reached or dropped the connection.
        :raises SqlOperationError: the database refused a statement.
        """
        try:
            connection = self.engine.connect()
        except sa_exc.SQLAlchemyError as exc:
            raise SqlConnectionError(
                redact(f"{self.owner} cannot connect to {self.shown_url} to {doing}: {reason(exc)}")) from exc
        try:
            with connection:
                if begin:
                    with connection.begin():
                        yield connection
                else:
                    yield connection
        except sa_exc.SQLAlchemyError as exc:
            raise self.error(doing, exc) from exc

    def error(self, doing: str, exc: sa_exc.SQLAlchemyError) -> SqlError:
        """One clear error for a failed statement: the connection was lost, or the database refused it."""
        if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
            return SqlConnectionError(
                redact(f"{self.owner} lost the connection to {self.shown_url} while trying to {doing}: "
                       f"{reason(exc)}"))
        return SqlOperationError(redact(f"{self.owner} could not {doing} at {self.shown_url}: {reason(exc)}"))

    def reflect(self, connection: Connection, table: str, schema: str | None) -> sa.Table:
        """The table ``schema.table`` as the database describes it (columns, types, keys).

        :raises SqlTableNotFound: there is no such table (the message lists those there are).
        """
        try:
            return sa.Table(table, sa.MetaData(), schema=schema, autoload_with=connection)
        except sa_exc.NoSuchTableError:
            pass
        try:
            existing = sorted(sa.inspect(connection).get_table_names(schema=schema))
        except sa_exc.SQLAlchemyError:
            existing = None
        if existing is None:
            listed = ""
        elif not existing:
            listed = " (it has no tables" + (f" in schema {schema!r})" if schema else ")")
        else:
            more = f" and {len(existing) - _LISTED_TABLES} more" if len(existing) > _LISTED_TABLES else ""
            listed = f" (tables there: {', '.join(existing[:_LISTED_TABLES])}{more})"
        raise SqlTableNotFound(redact(f"{self.owner}: table {qualified(table, schema)!r} not found at "
                                      f"{self.shown_url}{listed}"))

    def check_columns(self, table: sa.Table, what: str, names: Iterable[str]) -> None:
        """Check that ``names`` (what the component was given as ``what``: ``"key column(s)"``)
        are columns of ``table``.

        :raises SqlColumnError: naming those that are not, and the table's columns.
        """
        missing = [name for name in names if name not in table.c]
        if missing:
            raise SqlColumnError(
                f"{self.owner}: {what} {', '.join(missing)} are not columns of table "
                f"'{qualified(table.name, table.schema)}' at {self.shown_url} "
                f"(its columns: {', '.join(table.c.keys())})")

    def dispose(self) -> None:
        """Close the pooled connections (the engine opens new ones when used again)."""
        self.engine.dispose()


class OnDatabase:
    """What the SQL components share: the :class:`Database` they use (``self._database``)."""

    _database: Database

    @property
    def url(self) -> str:
        """The database's URL, with its password hidden."""
        return self._database.shown_url

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine this component connects through."""
        return self._database.engine


def _parse(owner: str, url: Any) -> URL:
    if isinstance(url, URL):
        return url
    if not isinstance(url, str) or not url:
        raise TypeError(f"{owner}: url must be an SQLAlchemy URL string, got {type(url).__name__}")
    try:
        return make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        shown = _PASSWORD_IN_TEXT.sub(r"\1***@", url)
        raise ValueError(redact(f"{owner}: url {shown!r} is not an SQLAlchemy URL; expected "
                                f"'dialect+driver://user:password@host:port/database', e.g. "
                                f"'sqlite:///data.db' or 'postgresql+psycopg://app:${{PGPASSWORD}}@db/shop'")) from None


def qualified(table: str, schema: str | None) -> str:
    """``schema.table``, or ``table`` without a schema."""
    return f"{schema}.{table}" if schema else table


def reason(exc: BaseException) -> str:
    """The useful part of an SQLAlchemy error: the driver's message on one line, without
    the SQL statement, its parameters or SQLAlchemy's link to its docs."""
    original = getattr(exc, "orig", None)
    text = str(original if isinstance(original, BaseException) else exc)
    text = text.split("\n[SQL: ", 1)[0].split("\n(Background on this error", 1)[0]
    text = "; ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
    if len(text) > _REASON_LENGTH:
        text = text[:_REASON_LENGTH - 3] + "..."
    return text or type(original or exc).__name__
