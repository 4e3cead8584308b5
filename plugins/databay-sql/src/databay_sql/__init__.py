"""databay-sql: an SQL outlet and inlet for databay, on SQLAlchemy 2 (SQLite, PostgreSQL...).

Importing this package is cheap: the components (and SQLAlchemy) load on first access::

    from databay_sql import SqlOutlet, SqlInlet
    from databay.outlets import SqlOutlet   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "SqlOutlet": "databay_sql.outlet",
    "SqlInlet": "databay_sql.inlet",
    "SqlError": "databay_sql.errors",
    "SqlColumnError": "databay_sql.errors",
    "SqlConnectionError": "databay_sql.errors",
    "SqlOperationError": "databay_sql.errors",
    "SqlTableNotFound": "databay_sql.errors",
}

__all__ = ["SqlColumnError", "SqlConnectionError", "SqlError", "SqlInlet", "SqlOperationError", "SqlOutlet",
           "SqlTableNotFound"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_sql' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
