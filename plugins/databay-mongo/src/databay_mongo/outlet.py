"""The :class:`MongoOutlet`: writes records into MongoDB collections."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

import bson
from bson.errors import InvalidDocument
from bson.raw_bson import RawBSONDocument
from databay import MetadataKey, Outlet
from databay.printable import describe_record, short_repr
from databay.stage import Stage
from pymongo.errors import BulkWriteError, PyMongoError

from databay_mongo import stage_types  # noqa: F401 - BSON values in staged records
from databay_mongo.connection import ServerSpec
from databay_mongo.errors import MongoCollectionNotFound

if TYPE_CHECKING:
    import pymongo
    from databay import Record, Update
    from pymongo.collection import Collection
    from pymongo.database import Database

__all__ = ["MongoCollectionNotFound", "MongoOutlet", "ensure_connection"]

_LOGGER = logging.getLogger("databay.MongoOutlet")

F = TypeVar("F", bound=Callable[..., Any])


def ensure_connection(fn: F) -> F:
    """Ensure the MongoDB connection is established before running the function.

    :param fn: Method of :class:`MongoOutlet` (or of a class with ``_db`` and ``connect()``)
        to decorate.
    """

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        if self._db is None:
            self.connect()
        return fn(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class MongoOutlet(Outlet):
    """Outlet for pushing data into a MongoDB instance. Pushes are executed synchronously.

    Each push groups its records by collection (the record's
    :attr:`MONGODB_COLLECTION` metadata, else ``collection``) and writes each group with
    one ``insert_many``. A record whose payload is a list becomes one document per
    element. Payloads are never modified: documents without an ``_id`` are inserted as
    shallow copies (pymongo adds the ``_id`` to the dict it inserts).

    :param database_name: Name of the MongoDB database to write to.
    :param collection: Global name of the collection to write to. This can be overwritten
        by records' metadata.MONGODB_COLLECTION parameter.
    :param host: Address of MongoDB host (PyMongo defaults to ``'localhost'``), or a
        connection URI ``'mongodb://...'``.
    :param port: Port of the MongoDB host (PyMongo defaults to ``27017``).
    :param uri: A MongoDB connection URI, instead of ``host`` and ``port``.
    :param create_collections: Create missing collections on insert (as databay 0.3 does).
        With ``False``, writing to a missing collection raises
        :class:`MongoCollectionNotFound` before anything of the push is written.
    :param timeout: Seconds to wait for the server when connecting or choosing a server
        (``serverSelectionTimeoutMS`` and ``connectTimeoutMS``).
    :param socket_timeout: Seconds a single operation may take on the wire, or ``None``
        for no limit.
    :param client_options: Further ``MongoClient`` keyword arguments; they win over the
        options above.
    :param idempotent: Write nothing twice when a staged link delivers a batch again: a
        document without an ``_id`` gets its record's stable id (``Stage.RECORD_ID``,
        with ``.<n>`` for the n-th element of a list payload), documents are inserted
        unordered, and those whose ``_id`` already exists are skipped. Needs a link with a
        stage (or documents with their own ``_id``).

    Remaining arguments (``processors``, ``retry``) go to :class:`~databay.outlet.Outlet`.

    Errors: an unreachable server raises
    :class:`~databay_mongo.errors.MongoConnectionError` naming ``host:port``; a refused
    insert raises :class:`~databay_mongo.errors.MongoOperationError`; a payload that is
    not a document raises ``TypeError`` naming the record, before anything is written.
    """

    MONGODB_COLLECTION: MetadataKey = "MongoOutlet.MONGODB_COLLECTION"
    """Name of collection to write to."""

    def __init__(
        self,
        database_name: str = "databay",
        collection: str = "default_collection",
        host: str | None = None,
        port: int | str | None = None,
        *args: Any,
        uri: str | None = None,
        create_collections: bool = True,
        timeout: float = 2.0,
        socket_timeout: float | None = 30.0,
        client_options: Mapping[str, Any] | None = None,
        idempotent: bool = False,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        _check_name("MongoOutlet", "database_name", database_name)
        _check_name("MongoOutlet", "collection", collection)
        self._server = ServerSpec.from_arguments(
            "MongoOutlet", host, port, uri, timeout, socket_timeout, client_options)
        self.host = host
        self.port = port
        self.database_name = database_name
        self.collection = collection
        self.create_collections = create_collections
        self.idempotent = idempotent
        self._client: pymongo.MongoClient | None = None
        self._db: Database | None = None  # None means disconnected
        self._collections: set[str] = set()
        self._connect_lock = threading.Lock()

    @property
    def address(self) -> str:
        """``host:port`` of the server this outlet writes to (without credentials)."""
        return self._server.address

    def _group_by_collection(self, records: list[Record]) -> dict[str, list]:
        """Documents to insert, by collection name; raises before any write on bad input."""
        default = self.collection
        key = self.MONGODB_COLLECTION
        idempotent = self.idempotent
        groups: dict[str, list] = {}
        for index, record in enumerate(records):
            name = record.metadata.get(key, default)
            if name is not default:
                _check_record_collection(name, index, record)
            documents = groups.get(name)
            if documents is None:
                documents = groups[name] = []
            payload = record.payload
            if type(payload) is list:
                for position, element in enumerate(payload):
                    document = _as_document(element, index, record, position)
                    documents.append(_with_stable_id(document, index, record, position) if idempotent else document)
            else:
                document = _as_document(payload, index, record, None)
                documents.append(_with_stable_id(document, index, record, None) if idempotent else document)
        return groups

    @ensure_connection
    def push(self, records: list[Record], update: Update) -> bool:  # type: ignore[override]
        """Write records into the database: one ``insert_many`` per collection.

        Writes also when the outlet was not started (connecting first): databay 0.3.0
        wrote nothing then and returned ``False``, losing a standalone transfer's records.

        :param records: Records to write; list payloads become one document per element.
        :param update: Update object representing the particular Link transfer.
        :returns: ``True`` once every record is written (as databay 0.3.0); a failure raises.
        """
        groups = self._group_by_collection(records)
        if not self.create_collections:
            for name in groups:
                self._get_collection(name)
        db = self._db
        assert db is not None
        for name, documents in groups.items():
            if not documents:
                continue
            if _LOGGER.isEnabledFor(logging.INFO):
                _LOGGER.info("%s insert %s", update, str(documents))  # before pymongo adds _id
            try:
                if self.idempotent:
                    _insert_new(db[name], documents)
                else:
                    db[name].insert_many(documents)
            except PyMongoError as exc:
                raise self._server.error(
                    "MongoOutlet", f"could not insert {len(documents)} document(s)", exc,
                    f"{db.name}.{name}") from exc
            except (InvalidDocument, OverflowError) as exc:
                raise ValueError(f"MongoOutlet cannot encode a document for {db.name}.{name} as BSON: "
                                 f"{exc}") from exc
            self._collections.add(name)
            if _LOGGER.isEnabledFor(logging.INFO):
                _LOGGER.info("%s written %s", update, documents)
        return True

    def connect(self, database_name: str | None = None) -> bool:
        """Connect to the specified database.

        Returns True if already connected to the specified database. Disconnects from any
        existing databases if the specified database is different.

        :param database_name: Name of the database to connect to; ``None`` for
            ``database_name`` given on construction.
        :raises MongoConnectionError: the server does not answer within ``timeout``.
        """
        if database_name is None:
            database_name = self.database_name
        with self._connect_lock:
            if self._client is not None and self._db is not None:
                if self._db.name == database_name:
                    return True
                self._close()
            self._client = self._server.open_client("MongoOutlet")
            self._db = self._client[database_name]
            return False

    def disconnect(self) -> None:
        """Disconnect from the database if currently connected."""
        with self._connect_lock:
            self._close()

    def _close(self) -> None:
        client, self._client, self._db = self._client, None, None
        self._collections = set()
        if client is not None:
            client.close()

    def on_start(self) -> None:
        """Connect to the MongoDB host on start."""
        self.connect()

    def on_shutdown(self) -> None:
        """Disconnect from the MongoDB host on shutdown."""
        self.disconnect()

    @ensure_connection
    def _get_collection(self, collection: str) -> Collection:
        """The collection called ``collection`` of the connected database.

        :raises MongoCollectionNotFound: the collection does not exist in the database.
        """
        db = self._db
        assert db is not None
        name = str(collection)
        if name not in self._collections:
            try:
                self._collections = set(db.list_collection_names())
            except PyMongoError as exc:
                raise self._server.error("MongoOutlet", "could not list collections", exc, db.name) from exc
            if name not in self._collections:
                raise MongoCollectionNotFound(
                    f"Collection '{name}' not found in database '{db.name}' at {self.address}. "
                    f"Create it first (add_collection()), or pass create_collections=True. "
                    f"Existing collections: {sorted(self._collections)}")
        return db[name]

    @ensure_connection
    def _add_collection(self, collection: str) -> None:
        """Add a collection to the database (nothing happens if it already exists)."""
        db = self._db
        assert db is not None
        name = str(collection)
        try:
            if name not in db.list_collection_names():
                db.create_collection(name)
        except PyMongoError as exc:
            raise self._server.error("MongoOutlet", f"could not create collection '{name}'", exc,
                                     db.name) from exc
        self._collections.add(name)

    add_collection = _add_collection


def _check_name(owner: str, argument: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{owner}: {argument} must be a non-empty string, got {value!r}")


def _check_record_collection(name: Any, index: int, record: Record) -> None:
    if not isinstance(name, str) or not name:
        raise ValueError(
            f"MongoOutlet: {describe_record(record, index)} names collection {name!r} "
            f"in metadata['{MongoOutlet.MONGODB_COLLECTION}']; it must be a non-empty string")


def _as_document(payload: Any, index: int, record: Record, position: int | None) -> Any:
    """The document to insert for ``payload``: never the payload itself if pymongo would change it."""
    if isinstance(payload, Mapping):
        if type(payload) is RawBSONDocument or "_id" in payload:
            return payload
        return dict(payload)
    raise TypeError(f"MongoOutlet cannot insert {describe_record(record, index, position)}: a document must be "
                    f"a mapping (dict), got {type(payload).__name__} {short_repr(payload)}")


def _with_stable_id(document: Any, index: int, record: Record, position: int | None) -> Any:
    """``document`` with an ``_id`` derived from its record's stable id, unless it has one."""
    if "_id" in document:
        return document
    record_id = record.metadata.get(Stage.RECORD_ID)
    if record_id is None:
        raise ValueError(
            f"MongoOutlet(idempotent=True) cannot give {describe_record(record, index)} a stable "
            f"_id: it has no metadata['{Stage.RECORD_ID}'] (records get one on a link with a stage) and its "
            f"document has no _id of its own")
    if type(document) is RawBSONDocument:
        document = dict(document)
    document["_id"] = record_id if position is None else f"{record_id}.{position}"
    return document


_DUPLICATE_KEY = 11000


def _insert_new(collection: Collection, documents: list) -> None:
    """Insert ``documents`` unordered; those whose ``_id`` already exists are skipped."""
    try:
        collection.insert_many(documents, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        others = [e for e in errors if e.get("code") != _DUPLICATE_KEY]
        if others or exc.details.get("writeConcernErrors"):
            raise
        # A duplicate key of another unique index is no earlier delivery: the document was
        # not written, so unless every refused _id is in the collection, this push failed.
        refused = [documents[e["index"]]["_id"] for e in errors]
        distinct = {bson.encode({"_id": value}) for value in refused}
        if collection.count_documents({"_id": {"$in": refused}}) < len(distinct):
            raise
        _LOGGER.debug("%d of %d document(s) were already written to %s, skipped", len(errors), len(documents),
                      collection.full_name)

