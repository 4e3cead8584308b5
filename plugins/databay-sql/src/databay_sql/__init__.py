"""databay-sql: an SQL outlet and inlet for databay, on SQLAlchemy 2 (SQLite, PostgreSQL...).

Importing this package is cheap: the components (and SQLAlchemy) load on first access::

    from databay_sql import SqlOutlet, SqlInlet
    from databay.outlets import SqlOutlet   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_sql.outlet": ["SqlOutlet"],
    "databay_sql.inlet": ["SqlInlet"],
    "databay_sql.errors": ["SqlError", "SqlColumnError", "SqlConnectionError", "SqlOperationError", "SqlTableNotFound"],
})
