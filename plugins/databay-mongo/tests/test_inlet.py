"""MongoInlet against a real server over the wire."""

from __future__ import annotations

import time

import pytest
from databay import Link
from databay.update import Update
from databay_mongo import MongoConnectionError
from databay_mongo.inlet import MongoInlet
from databay_mongo.outlet import MongoOutlet
from databay_mongo.testing import free_port

UPDATE = Update(["test"], 0)


def pulled(inlet: MongoInlet, key: str = "seq") -> list:
    return [d[key] for d in inlet.pull(UPDATE)]


def test_each_document_is_produced_once_in_field_order(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"seq": s} for s in (3, 1, 2)])
    inlet = MongoInlet("c", database, field="seq", uri=mongo_uri)
    inlet.try_start()
    assert pulled(inlet) == [1, 2, 3]
    assert inlet.position == 3
    assert pulled(inlet) == []
    db["c"].insert_many([{"seq": 5}, {"seq": 4}])
    assert pulled(inlet) == [4, 5]
    inlet.try_shutdown()
    assert inlet._client is None


def test_default_field_is_id(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"_id": i, "seq": i} for i in range(3)])
    inlet = MongoInlet("c", database, uri=mongo_uri)
    assert pulled(inlet) == [0, 1, 2]
    assert inlet.position == 2
    db["c"].insert_one({"_id": 3, "seq": 3})
    assert pulled(inlet) == [3]
    inlet.disconnect()


def test_query_filters_documents(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"seq": i, "kind": "a" if i % 2 else "b"} for i in range(6)])
    inlet = MongoInlet("c", database, query={"kind": "a"}, field="seq", uri=mongo_uri)
    assert pulled(inlet) == [1, 3, 5]
    inlet.disconnect()


def test_position_is_settable_and_start_after_sets_it(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"seq": i} for i in range(6)])
    inlet = MongoInlet("c", database, field="seq", uri=mongo_uri, start_after=3)
    assert inlet.position == 3
    assert pulled(inlet) == [4, 5]
    inlet.position = 1
    assert pulled(inlet) == [2, 3, 4, 5]
    inlet.position = None
    assert pulled(inlet) == [0, 1, 2, 3, 4, 5]
    inlet.disconnect()


def test_max_documents_never_skips_documents_sharing_a_value(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"seq": s, "i": i} for i, s in enumerate([1, 2, 2, 2, 3, 4])])
    inlet = MongoInlet("c", database, field="seq", max_documents=2, uri=mongo_uri)
    batches = []
    while batch := [d["i"] for d in inlet.pull(UPDATE)]:
        batches.append(batch)
    inlet.disconnect()
    assert sorted(i for b in batches for i in b) == [0, 1, 2, 3, 4, 5]
    assert batches[0][:2] == [0, 1] and sorted(batches[0]) == [0, 1, 2, 3]


def test_documents_without_the_field_are_not_read(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"other": 1}, {"seq": 1}])
    inlet = MongoInlet("c", database, field="seq", uri=mongo_uri)
    assert pulled(inlet) == [1]
    inlet.disconnect()


def test_projection_keeps_the_field(mongo_uri, database, db) -> None:
    db["c"].insert_many([{"seq": i, "a": i, "b": i} for i in range(2)])
    inlet = MongoInlet("c", database, field="seq", projection={"a": 1, "_id": 0}, uri=mongo_uri)
    assert inlet.pull(UPDATE) == [{"seq": 0, "a": 0}, {"seq": 1, "a": 1}]
    assert inlet.position == 1
    inlet.disconnect()


def test_server_down_at_start_is_one_quick_clear_error() -> None:
    port = free_port()
    inlet = MongoInlet("c", host="127.0.0.1", port=port, timeout=1.0)
    began = time.monotonic()
    with pytest.raises(MongoConnectionError, match=rf"MongoInlet cannot connect: MongoDB at 127\.0\.0\.1:{port}"):
        inlet.try_start()
    assert time.monotonic() - began < 3


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"collection": ""}, ValueError, "collection must be a non-empty string"),
        ({"collection": "c", "field": ""}, ValueError, "field must be a non-empty string"),
        ({"collection": "c", "query": "seq > 1"}, TypeError, "query must be a mapping"),
        ({"collection": "c", "max_documents": 0}, ValueError, "max_documents must be a positive integer"),
        ({"collection": "c", "port": "x"}, ValueError, "MongoInlet: port must be an integer"),
    ],
)
def test_bad_arguments(arguments, error, message) -> None:
    with pytest.raises(error, match=message):
        MongoInlet(**arguments)


def test_mongo_to_mongo_link_copies_each_document_once(mongo_uri, database, db) -> None:
    db["source"].insert_many([{"seq": i} for i in range(3)])
    inlet = MongoInlet("source", database, field="seq", uri=mongo_uri)
    outlet = MongoOutlet(database, "target", uri=mongo_uri)
    link = Link(inlet, outlet, interval=1)
    link.on_start()
    try:
        assert link.transfer().records_pushed == 3
        assert link.transfer().records_pushed == 0
        db["source"].insert_one({"seq": 3})
        assert link.transfer().records_pushed == 1
    finally:
        link.on_shutdown()
    assert sorted(d["seq"] for d in db["target"].find()) == [0, 1, 2, 3]
