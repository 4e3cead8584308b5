"""The :class:`MongoInlet`: reads the documents added to a collection since the last pull."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pymongo
from bson import json_util
from databay import Inlet
from pymongo.errors import PyMongoError

from databay_mongo import stage_types  # noqa: F401 - BSON values in staged records
from databay_mongo.connection import ServerSpec

if TYPE_CHECKING:
    from databay import Update
    from pymongo.database import Database

__all__ = ["MongoInlet"]

_LOGGER = logging.getLogger("databay.MongoInlet")

_UNSET = object()


class MongoInlet(Inlet):
    """Inlet producing the new documents of a MongoDB collection, each exactly once.

    Each pull reads the documents matching ``query`` whose ``field`` is greater than the
    greatest value seen so far (:attr:`position`), in ascending ``field`` order, and
    produces one record per document (its payload is the document, ``_id`` included).
    ``field`` must increase as documents are added: ``_id`` for ObjectIds made by one
    client, or a sequence number or timestamp the writer sets. Documents without
    ``field`` are never read. Pulls are executed synchronously.

    The position lives in memory (:attr:`position`, settable). On a link with a stage it
    is committed with the records each pull produced and restored on restart
    (:meth:`get_state`/:meth:`set_state`), so a crash never skips documents.

    :param collection: Name of the collection to read.
    :param database_name: Name of the MongoDB database.
    :param query: A MongoDB filter the documents must also match (``None``: all).
    :param field: The increasing field the inlet orders by and remembers.
    :param host: Address of MongoDB host (``'localhost'`` by default), or a connection
        URI ``'mongodb://...'``.
    :param port: Port of the MongoDB host (``27017`` by default).
    :param uri: A MongoDB connection URI, instead of ``host`` and ``port``.
    :param start_after: Initial :attr:`position`: only documents whose ``field`` is greater
        are read (``None``: start with the first document).
    :param max_documents: At most this many documents per pull (plus any sharing the
        last one's ``field`` value, so that none is skipped); ``None``: no limit.
    :param projection: Fields to return, as for ``find()``; ``field`` is always returned.
    :param timeout: Seconds to wait for the server when connecting or choosing a server.
    :param socket_timeout: Seconds a single operation may take on the wire, or ``None``.
    :param client_options: Further ``MongoClient`` keyword arguments.

    Remaining arguments (``metadata``) go to :class:`~databay.inlet.Inlet`.
    """

    def __init__(
        self,
        collection: str,
        database_name: str = "databay",
        query: Mapping[str, Any] | None = None,
        field: str = "_id",
        host: str | None = None,
        port: int | str | None = None,
        *args: Any,
        uri: str | None = None,
        start_after: Any = None,
        max_documents: int | None = None,
        projection: Mapping[str, Any] | list[str] | None = None,
        timeout: float = 2.0,
        socket_timeout: float | None = 30.0,
        client_options: Mapping[str, Any] | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        for argument, value in (("collection", collection), ("database_name", database_name), ("field", field)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"MongoInlet: {argument} must be a non-empty string, got {value!r}")
        if query is not None and not isinstance(query, Mapping):
            raise TypeError(f"MongoInlet: query must be a mapping (a MongoDB filter), got {type(query).__name__}")
        if max_documents is not None and (
            isinstance(max_documents, bool) or not isinstance(max_documents, int) or max_documents < 1
        ):
            raise ValueError(f"MongoInlet: max_documents must be a positive integer or None, got {max_documents!r}")
        self._server = ServerSpec.from_arguments(
            "MongoInlet", host, port, uri, timeout, socket_timeout, client_options)
        self.collection = collection
        self.database_name = database_name
        self.query: dict[str, Any] = dict(query or {})
        self.field = field
        self.max_documents = max_documents
        self.projection = projection
        self.position: Any = start_after
        """Greatest ``field`` value produced so far (``None``: nothing yet). Settable."""
        self._client: pymongo.MongoClient | None = None
        self._db: Database | None = None
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """``host:port`` of the server this inlet reads from (without credentials)."""
        return self._server.address

    def connect(self) -> None:
        """Connect to the server unless connected.

        :raises MongoConnectionError: the server does not answer within ``timeout``.
        """
        if self._db is None:
            self._client = self._server.open_client("MongoInlet")
            self._db = self._client[self.database_name]

    def disconnect(self) -> None:
        """Disconnect from the server if connected."""
        client, self._client, self._db = self._client, None, None
        if client is not None:
            client.close()

    def on_start(self) -> None:
        """Connect to the MongoDB host on start."""
        with self._lock:
            self.connect()

    def on_shutdown(self) -> None:
        """Disconnect from the MongoDB host on shutdown."""
        with self._lock:
            self.disconnect()

    def pull(self, update: Update) -> list[dict[str, Any]]:
        """Read the documents added since the previous pull and advance :attr:`position`.

        :param update: Update object representing the particular Link transfer.
        """
        with self._lock:  # pulls of one inlet shared by several links must not interleave
            self.connect()
            db = self._db
            assert db is not None
            collection = db[self.collection]
            try:
                documents = self._read(collection, self._after(self.position))
                if self.max_documents is not None and len(documents) == self.max_documents:
                    documents += self._ties(collection, documents)
            except PyMongoError as exc:
                raise self._server.error("MongoInlet", "could not read new documents", exc,
                                         f"{db.name}.{self.collection}") from exc
            if documents:
                last = _value_at(documents[-1], self.field)
                if last is _UNSET:
                    raise ValueError(f"MongoInlet: the last document read from {db.name}.{self.collection} "
                                     f"has no field {self.field!r}; is it excluded by projection?")
                self.position = last
            return documents

    def get_state(self) -> dict[str, Any] | None:
        """The position as JSON: ``{"field": ..., "after": <canonical extended JSON>}``,
        e.g. ``{"field": "_id", "after": {"$oid": "65f0..."}}``; ``None`` before anything was read."""
        position = self.position
        if position is None:
            return None
        after = json.loads(json_util.dumps(position, json_options=json_util.CANONICAL_JSON_OPTIONS))
        return {"field": self.field, "after": after}

    def set_state(self, state: dict[str, Any]) -> None:
        """Continue after the position in ``state`` (from :meth:`get_state`); a state saved
        for another ``field`` is ignored, with a warning."""
        if state.get("field") != self.field:
            _LOGGER.warning("%s: ignoring a saved position for field %r (this inlet orders by %r)", self,
                            state.get("field"), self.field)
            return
        self.position = json_util.loads(json.dumps(state["after"]), json_options=json_util.CANONICAL_JSON_OPTIONS)

    def _after(self, position: Any) -> dict[str, Any]:
        condition = {"$exists": True} if position is None else {"$gt": position}
        return self._and({self.field: condition})

    def _and(self, condition: dict[str, Any]) -> dict[str, Any]:
        return {"$and": [self.query, condition]} if self.query else condition

    def _read(self, collection, query: dict[str, Any], limit: int | None = None) -> list[dict[str, Any]]:
        cursor = collection.find(query, projection=self._projection(), sort=[(self.field, pymongo.ASCENDING)],
                                 limit=limit if limit is not None else (self.max_documents or 0))
        return list(cursor)

    def _ties(self, collection, documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Documents sharing the last one's ``field`` value that the limit cut off."""
        if self.field == "_id":
            return []
        last = _value_at(documents[-1], self.field)
        seen = [d["_id"] for d in documents if _value_at(d, self.field) == last and "_id" in d]
        return self._read(collection, self._and({self.field: last, "_id": {"$nin": seen}}), limit=0)

    def _projection(self) -> Any:
        if self.projection is None:
            return None
        if isinstance(self.projection, Mapping):
            projection = dict(self.projection)
            if any(projection.values()):  # an inclusion projection: keep the field
                projection[self.field] = 1
            else:
                projection.pop(self.field, None)
            return projection
        return [*self.projection, self.field]

    def __repr__(self) -> str:
        return f"MongoInlet({self.database_name}.{self.collection})"


def _value_at(document: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` of ``document``, or ``_UNSET``."""
    value: Any = document
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _UNSET
        value = value[part]
    return value
