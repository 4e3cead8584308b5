"""MongoOutlet against a real server over the wire."""

from __future__ import annotations

import copy
import logging
import time

import pytest
from databay import Link, Record, Update
from databay.testing import SequenceInlet
from databay_mongo import MongoCollectionNotFound, MongoConnectionError, MongoOperationError
from databay_mongo.outlet import MongoOutlet
from databay_mongo.testing import free_port
from pymongo import monitoring

KEY = MongoOutlet.MONGODB_COLLECTION


class InsertCounter(monitoring.CommandListener):
    """Counts the ``insert`` commands sent to each collection."""

    def __init__(self) -> None:
        self.inserts: dict[str, int] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "insert":
            name = event.command["insert"]
            self.inserts[name] = self.inserts.get(name, 0) + 1

    def succeeded(self, event) -> None:
        pass

    def failed(self, event) -> None:
        pass


def started(outlet: MongoOutlet) -> MongoOutlet:
    outlet.try_start()
    return outlet


def contents(db, collection: str) -> list[dict]:
    return [{k: v for k, v in d.items() if k != "_id"} for d in db[collection].find().sort("_id", 1)]


def test_metadata_key_is_the_manuals() -> None:
    assert MongoOutlet.MONGODB_COLLECTION == "MongoOutlet.MONGODB_COLLECTION"


def test_defaults_are_the_manuals() -> None:
    outlet = MongoOutlet()
    assert (outlet.database_name, outlet.collection, outlet.host, outlet.port) == (
        "databay", "default_collection", None, None)
    assert outlet.address == "localhost:27017"


def test_routes_by_metadata_and_splits_list_payloads(mongo_uri, database, db) -> None:
    outlet = started(MongoOutlet(database, "main", uri=mongo_uri))
    outlet.push([
        Record({"n": 1}),
        Record([{"n": 2}, {"n": 3}], {KEY: "other"}),
        Record({"n": 4}, {KEY: "main"}),
        Record([{"n": 5}]),
    ], "test.0")
    outlet.try_shutdown()
    assert contents(db, "main") == [{"n": 1}, {"n": 4}, {"n": 5}]
    assert contents(db, "other") == [{"n": 2}, {"n": 3}]


def test_one_insert_many_per_collection_per_push(mongo_uri, database, db) -> None:
    counter = InsertCounter()
    outlet = started(MongoOutlet(database, "a", uri=mongo_uri, client_options={"event_listeners": [counter]}))
    records = [Record({"i": i}, {KEY: "b"} if i % 3 == 0 else {}) for i in range(1000)]
    outlet.push(records, "test.0")
    assert counter.inserts == {"a": 1, "b": 1}
    outlet.push(records, "test.1")
    assert counter.inserts == {"a": 2, "b": 2}
    outlet.try_shutdown()
    assert db["a"].count_documents({}) == 2 * 666 and db["b"].count_documents({}) == 2 * 334


def test_payloads_are_not_modified(mongo_uri, database, db) -> None:
    nested = {"deep": [1, {"x": 2}]}
    records = [Record({"a": 1, "nested": nested}), Record([{"b": 2}, {"_id": "given", "c": 3}])]
    before = copy.deepcopy([r.payload for r in records])
    outlet = started(MongoOutlet(database, "c", uri=mongo_uri))
    outlet.push(records, "test.0")
    outlet.try_shutdown()
    assert [r.payload for r in records] == before
    assert db["c"].find_one({"_id": "given"}) == {"_id": "given", "c": 3}
    assert db["c"].count_documents({}) == 3


def test_push_connects_when_not_started(mongo_uri, database, db) -> None:
    outlet = MongoOutlet(database, "c", uri=mongo_uri)
    outlet.push([Record({"a": 1})], "test.0")  # ensure_connection
    assert db["c"].count_documents({}) == 1
    outlet.disconnect()


def test_connect_on_start_disconnect_on_shutdown(mongo_uri, database) -> None:
    outlet = MongoOutlet(database, uri=mongo_uri)
    assert outlet._client is None
    outlet.try_start()
    assert outlet._db is not None and outlet._db.name == database
    assert outlet.connect() is True  # already connected to that database
    assert outlet.connect(database + "_x") is False
    assert outlet._db.name == database + "_x"
    outlet.try_shutdown()
    assert outlet._client is None and outlet._db is None


def test_host_can_be_a_uri_and_port_a_string(mongo_uri, database, db) -> None:
    outlet = started(MongoOutlet(database, "h", host=mongo_uri))
    outlet.push([Record({"a": 1})], "test.0")
    outlet.try_shutdown()
    host, port = mongo_uri.split("://")[1].rstrip("/").rsplit(":", 1)
    if "@" not in host and "," not in host:
        outlet = started(MongoOutlet(database, "h", host=host, port=port))
        outlet.push([Record({"a": 2})], "test.1")
        outlet.try_shutdown()
        assert db["h"].count_documents({}) == 2


def test_missing_collection_raises_when_not_created(mongo_uri, database, db) -> None:
    outlet = started(MongoOutlet(database, "present", uri=mongo_uri, create_collections=False))
    outlet.add_collection("present")
    outlet.push([Record({"a": 1})], "test.0")
    with pytest.raises(MongoCollectionNotFound, match=r"Collection 'absent' not found in database '.*' at "):
        outlet.push([Record({"a": 2}), Record({"a": 3}, {KEY: "absent"})], "test.1")
    outlet.try_shutdown()
    assert contents(db, "present") == [{"a": 1}], "nothing of a failing push is written"
    assert "absent" not in db.list_collection_names()


def test_missing_collection_is_importable_from_the_outlet_module() -> None:
    from databay_mongo import outlet

    assert outlet.MongoCollectionNotFound is MongoCollectionNotFound
    assert issubclass(MongoCollectionNotFound, Exception)


@pytest.mark.parametrize("payload", [5, "text", None, [{"ok": 1}, 7]])
def test_payload_that_is_not_a_document_is_rejected_before_writing(mongo_uri, database, db, payload) -> None:
    outlet = started(MongoOutlet(database, "c", uri=mongo_uri))
    records = [Record({"ok": 0}, {KEY: "first"}), Record(payload, {"__inlet__": "SomeInlet()"})]
    with pytest.raises(TypeError, match=r"record 1 of this push \(from SomeInlet\(\)\).*must be a mapping"):
        outlet.push(records, "test.0")
    outlet.try_shutdown()
    assert db.list_collection_names() == []


@pytest.mark.parametrize("name", [5, "", None])
def test_bad_collection_metadata_is_rejected(mongo_uri, database, name) -> None:
    outlet = started(MongoOutlet(database, "c", uri=mongo_uri))
    with pytest.raises(ValueError, match=r"record 0 of this push .* names collection"):
        outlet.push([Record({"a": 1}, {KEY: name})], "test.0")
    outlet.try_shutdown()


def test_unencodable_document_names_the_collection(mongo_uri, database) -> None:
    outlet = started(MongoOutlet(database, "c", uri=mongo_uri))
    with pytest.raises(ValueError, match=rf"cannot encode a document for {database}\.c"):
        outlet.push([Record({"big": 2**70})], "test.0")
    outlet.try_shutdown()


def test_refused_insert_is_one_clear_error(mongo_uri, database, db) -> None:
    outlet = started(MongoOutlet(database, "c", uri=mongo_uri))
    outlet.push([Record({"_id": 1})], "test.0")
    with pytest.raises(MongoOperationError, match=rf"could not insert 1 document\(s\).*\({database}\.c\)"):
        outlet.push([Record({"_id": 1})], "test.1")
    outlet.try_shutdown()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"port": "http"}, "port must be an integer"),
        ({"port": 70000}, "port must be between"),
        ({"uri": "localhost:27017"}, "uri must start with"),
        ({"host": "mongodb://a", "uri": "mongodb://b"}, "either as host or as uri"),
        ({"host": "a", "uri": "mongodb://b"}, "either host or uri"),
        ({"timeout": 0}, "timeout must be a positive number"),
        ({"database_name": ""}, "database_name must be a non-empty string"),
        ({"collection": None}, "collection must be a non-empty string"),
    ],
)
def test_bad_arguments(arguments, message) -> None:
    with pytest.raises(ValueError, match=message):
        MongoOutlet(**arguments)


def test_address_hides_credentials() -> None:
    outlet = MongoOutlet(uri="mongodb://user:secret@db1.example,db2.example:27018/app?authSource=admin")
    assert outlet.address == "db1.example:27017,db2.example:27018"


def test_server_down_at_start_is_one_quick_clear_error() -> None:
    port = free_port()
    outlet = MongoOutlet(host="127.0.0.1", port=port, timeout=1.0)
    began = time.monotonic()
    with pytest.raises(MongoConnectionError, match=rf"MongoOutlet cannot connect: MongoDB at 127\.0\.0\.1:{port} "
                                                   r"is unreachable"):
        outlet.try_start()
    assert time.monotonic() - began < 3
    assert outlet._client is None


def test_logs_insert_and_written_with_the_update(mongo_uri, database, caplog) -> None:
    outlet = started(MongoOutlet(database, "c", uri=mongo_uri))
    with caplog.at_level(logging.INFO, logger="databay.MongoOutlet"):
        outlet.push([Record({"a": 1})], "link.7")
    outlet.try_shutdown()
    messages = [r.getMessage() for r in caplog.records if r.name == "databay.MongoOutlet"]
    assert messages[0] == "link.7 insert [{'a': 1}]"
    assert messages[1].startswith("link.7 written [{'a': 1, '_id': ObjectId(")


def test_in_a_link_with_several_collections(mongo_uri, database, db) -> None:
    outlet = MongoOutlet(database, "link", uri=mongo_uri)
    link = Link([SequenceInlet(1), SequenceInlet(1)], outlet, interval=1, tags="t")
    link.on_start()
    try:
        for _ in range(3):
            assert link.transfer().records_pushed == 2
    finally:
        link.on_shutdown()
    assert sorted(d["n"] for d in contents(db, "link")) == [0, 0, 1, 1, 2, 2]


def test_push_returns_true_once_written_started_or_not(mongo_uri, database, db) -> None:
    """databay 0.3.0 returned True after writing; before start it returned False and wrote
    nothing, which lost the records of a standalone transfer: here it writes (a documented
    difference) and says so."""
    update = Update(["push"], 0)
    outlet = MongoOutlet(database, "main", uri=mongo_uri)
    assert outlet.push([Record({"n": 1})], update) is True  # not started
    outlet.try_start()
    try:
        assert outlet.push([Record({"n": 2})], update) is True
        assert outlet.push([], update) is True
    finally:
        outlet.try_shutdown()
    assert contents(db, "main") == [{"n": 1}, {"n": 2}]
