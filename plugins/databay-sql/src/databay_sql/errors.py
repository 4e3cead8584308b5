"""Exceptions of databay-sql (importing them does not import SQLAlchemy).

Every message names the database (its URL with the password hidden) and the table or
query, and says what was being done; none holds a password or the rows' values beyond
what the database itself quotes (e.g. the key of a duplicate row).
"""

from __future__ import annotations


class SqlError(Exception):
    """Base class of the errors of databay-sql's components."""


class SqlConnectionError(SqlError, ConnectionError):
    """The database cannot be reached, refused the credentials, or dropped the connection."""


class SqlTableNotFound(SqlError, LookupError):
    """The table an outlet writes to or an inlet reads from does not exist (or cannot be seen)."""


class SqlColumnError(SqlError, ValueError):
    """A record names a column the table does not have, or a ``key``/``cursor`` column is
    missing or unusable. Nothing of the push was written."""


class SqlOperationError(SqlError, RuntimeError):
    """The database refused a statement: a constraint violation, permission denied, a full
    disk, a value a column cannot hold. The transaction was rolled back: nothing of the push
    was written."""
