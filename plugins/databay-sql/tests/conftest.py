"""Databases for the tests: SQLite files, and a PostgreSQL server started for the session.

``db`` runs a test once on SQLite and once on PostgreSQL (a fresh database each time).
PostgreSQL is Debian's ``postgres`` run by :class:`databay_sql.testing.PostgresServer` as an
unprivileged user on a free loopback port, or the server at ``$DATABAY_TEST_POSTGRES_URL``;
without either, the PostgreSQL runs skip and say which package they need.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from databay import Update
from databay_sql.testing import PostgresAdmin, postgres_missing_reason, server_for_tests

_names = itertools.count()


class Database:
    """A database under test: its URL, an engine of its own to look at what the components did."""

    def __init__(self, url: str):
        self.url = url
        self.engine = sa.create_engine(url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def create_table(self, name: str, *columns: Any, schema: str | None = None) -> sa.Table:
        table = sa.Table(name, sa.MetaData(), *columns, schema=schema)
        table.create(self.engine)
        return table

    def insert(self, table: str, rows: list[dict[str, Any]], schema: str | None = None) -> None:
        reflected = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=self.engine)
        with self.engine.begin() as connection:
            connection.execute(sa.insert(reflected), rows)

    def rows(self, table: str, order_by: str | None = None, schema: str | None = None) -> list[dict[str, Any]]:
        reflected = sa.Table(table, sa.MetaData(), schema=schema, autoload_with=self.engine)
        query = sa.select(reflected)
        if order_by is not None:
            query = query.order_by(reflected.c[order_by])
        with self.engine.connect() as connection:
            return [dict(row) for row in connection.execute(query).mappings()]

    def execute(self, *statements: str) -> None:
        with self.engine.begin() as connection:
            for statement in statements:
                connection.exec_driver_sql(statement)

    def close(self) -> None:
        self.engine.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresAdmin]:
    """The PostgreSQL server of the session (skips the test when there is none)."""
    reason = postgres_missing_reason()
    if reason is not None:
        pytest.skip(reason)
    with server_for_tests() as server:
        yield server


def _fresh_name() -> str:
    return f"databay_test_{os.getpid()}_{next(_names)}"


@pytest.fixture
def sqlite_db(tmp_path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    yield database
    database.close()


@pytest.fixture
def pg_db(postgres: PostgresAdmin) -> Iterator[Database]:
    name = _fresh_name()
    database = Database(postgres.create_database(name))
    yield database
    database.close()
    postgres.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request) -> Database:
    """A fresh, empty database: SQLite, then PostgreSQL."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


@pytest.fixture
def update() -> Update:
    return Update(["test"], 0)
