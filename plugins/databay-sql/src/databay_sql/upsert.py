"""Upserts: ``INSERT ... ON CONFLICT (key) DO UPDATE`` on the dialects that have it.

PostgreSQL and SQLite (3.24 and later) share the syntax, and SQLAlchemy builds it with
each dialect's own ``insert()``. The conflict target must be the primary key or a unique
constraint (or unique index) of exactly the key columns, which :func:`unique_key_of`
checks before the first upsert, so that a wrong ``key`` is told in plain words instead of
as the database's complaint about an ON CONFLICT specification.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

_INSERTS: dict[str, Any] = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

UPSERT_DIALECTS = tuple(_INSERTS)
"""The dialects :func:`upsert_statement` builds upserts for."""


def upsert_statement(dialect: str, table: sa.Table, key: Sequence[str], columns: Collection[str]) -> Any:
    """The upsert of rows naming ``columns`` into ``table``: a row whose ``key`` exists
    updates the other columns it names (or changes nothing if it names only the key)."""
    statement = _INSERTS[dialect](table)
    updated = [column for column in table.c.keys() if column in columns and column not in key]
    if not updated:
        return statement.on_conflict_do_nothing(index_elements=list(key))
    return statement.on_conflict_do_update(index_elements=list(key),
                                           set_={column: statement.excluded[column] for column in updated})


def unique_key_of(connection: Connection, table: sa.Table, key: Sequence[str]) -> bool:
    """Whether ``key`` is the primary key, a unique constraint or a unique index of ``table``."""
    wanted: set[str | None] = set(key)
    if {column.name for column in table.primary_key.columns} == wanted:
        return True
    inspector = sa.inspect(connection)
    uniques: list[set[str | None]] = [
        set(c["column_names"]) for c in inspector.get_unique_constraints(table.name, schema=table.schema)]
    uniques += [set(i["column_names"]) for i in inspector.get_indexes(table.name, schema=table.schema)
                if i.get("unique")]  # an expression index names None: it never equals the key
    return wanted in uniques
