"""Exceptions of databay-mongo (importing them does not import pymongo)."""

from __future__ import annotations


class MongoCollectionNotFound(Exception):
    """Raised when requested collection does not exist in the database."""


class MongoConnectionError(ConnectionError):
    """Raised when the MongoDB server cannot be reached or drops the connection.

    The message names the server (``host:port``, credentials removed) and what was being
    done when it failed.
    """


class MongoOperationError(RuntimeError):
    """Raised when the server refuses an operation (a failed insert, an invalid query).

    The message names the server, the database and collection, and the server's reason.
    """
