"""MongoOutlet and MongoInlet on staged links: idempotent writes with stable ids, the
inlet's position committed with its records, BSON values kept exactly in the stage."""

from __future__ import annotations

import datetime

import pytest
from bson import Decimal128, Int64, ObjectId
from databay import Inlet, Link
from databay.stage import Stage
from databay.testing import CollectingOutlet, LosesTheAnswer, SequenceInlet
from databay_mongo import MongoInlet, MongoOperationError, MongoOutlet


class LosingMongoOutlet(LosesTheAnswer, MongoOutlet):
    """Writes, then fails as if the connection dropped before the server's answer arrived."""


def test_idempotent_redelivery_writes_nothing_twice(mongo_uri, database, db, tmp_path):
    outlet = LosingMongoOutlet(database, "numbers", uri=mongo_uri, idempotent=True)
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()  # written, but the outlet failed: the batch stays pending
    assert [b.batches for b in link.stage.backlog()] == [1]
    link.transfer()  # batch 1 again (skipped by the server), then batch 2
    link.on_shutdown()
    documents = list(db["numbers"].find().sort("n", 1))
    assert [d["n"] for d in documents] == [0, 1, 2, 3, 4, 5]
    uid = link.stage.uid
    assert [d["_id"] for d in documents] == [f"{uid}:1:0", f"{uid}:1:1", f"{uid}:1:2",
                                             f"{uid}:2:0", f"{uid}:2:1", f"{uid}:2:2"]


def test_without_idempotent_redelivery_writes_twice(mongo_uri, database, db, tmp_path):
    outlet = LosingMongoOutlet(database, "numbers", uri=mongo_uri)
    link = Link(SequenceInlet(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert sorted(d["n"] for d in db["numbers"].find()) == [0, 0, 1, 1, 2, 2, 3, 4, 5]


def test_list_payloads_and_own_ids(mongo_uri, database, db, tmp_path):
    class Mixed(Inlet):
        def pull(self, update):
            return [[{"k": "a"}, {"k": "b"}], {"_id": "mine", "k": "c"}]

    outlet = MongoOutlet(database, "mixed", uri=mongo_uri, idempotent=True)
    link = Link(Mixed(), outlet, interval=1, stage=tmp_path / "s.stage")
    link.transfer()
    link.transfer()  # the same payloads again: new records, new ids, except the document's own
    link.on_shutdown()
    uid = link.stage.uid
    assert sorted((d["_id"], d["k"]) for d in db["mixed"].find()) == sorted([
        (f"{uid}:1:0.0", "a"), (f"{uid}:1:0.1", "b"), ("mine", "c"), (f"{uid}:2:0.0", "a"), (f"{uid}:2:0.1", "b")])


def test_idempotent_needs_a_stage_or_own_ids(mongo_uri, database):
    outlet = MongoOutlet(database, "c", uri=mongo_uri, idempotent=True)
    with pytest.raises(ValueError, match=r"cannot give record 0 of this push \(from SequenceInlet\(\)\) a stable _id: "
                                         r"it has no metadata\['Stage.RECORD_ID'\]"):
        Link(SequenceInlet(), outlet, interval=1).transfer()


def test_idempotent_writes_raise_a_duplicate_of_another_unique_index(mongo_uri, database, db, tmp_path):
    """Only a duplicate _id means "written before": a record refused by another unique
    index is an error, not a skipped delivery."""
    db["people"].create_index("email", unique=True)
    db["people"].insert_one({"email": "taken@example.org"})

    class People(Inlet):
        def pull(self, update):
            return [{"email": "new@example.org"}, {"email": "taken@example.org"}]

    outlet = MongoOutlet(database, "people", uri=mongo_uri, idempotent=True)
    link = Link(People(), outlet, interval=1, stage=tmp_path / "s.stage")
    with pytest.raises(MongoOperationError, match=r"could not insert 2 document\(s\)"):
        link.transfer()
    link.on_shutdown()
    assert sorted(d["email"] for d in db["people"].find()) == ["new@example.org", "taken@example.org"]
    assert [b.batches for b in link.stage.backlog()] == [1]  # kept for redelivery, not dropped


def test_idempotent_writes_still_raise_other_errors():
    from databay_mongo import outlet as outlet_module
    from pymongo.errors import BulkWriteError

    class Refuses:
        full_name = "x.y"

        def insert_many(self, documents, ordered):
            raise BulkWriteError({"writeErrors": [{"index": 0, "code": 11000, "errmsg": "dup"},
                                                  {"index": 1, "code": 121, "errmsg": "validation failed"}]})

    with pytest.raises(BulkWriteError):
        outlet_module._insert_new(Refuses(), [{}, {}])


def test_the_inlet_position_is_committed_with_its_records(mongo_uri, database, db, tmp_path):
    db["source"].insert_many([{"seq": n} for n in range(5)])
    stage = tmp_path / "s.stage"
    keep = CollectingOutlet()
    link = Link(MongoInlet("source", database, uri=mongo_uri, field="seq"), keep, interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    assert Stage(stage).open().inlet_states() == {"MongoInlet": {"field": "seq", "after": {"$numberInt": "4"}}}
    db["source"].insert_many([{"seq": n} for n in range(5, 8)])
    # A new process: the position comes from the stage, not from start_after.
    keep2 = CollectingOutlet()
    inlet2 = MongoInlet("source", database, uri=mongo_uri, field="seq")
    link2 = Link(inlet2, keep2, interval=1, stage=stage)
    link2.transfer()
    link2.on_shutdown()
    assert [r.payload["seq"] for r in keep.records] == [0, 1, 2, 3, 4]
    assert [r.payload["seq"] for r in keep2.records] == [5, 6, 7]


def test_records_pulled_but_never_committed_are_read_again(mongo_uri, database, db, tmp_path):
    db["source"].insert_many([{"seq": n} for n in range(3)])
    stage = tmp_path / "s.stage"
    link = Link(MongoInlet("source", database, uri=mongo_uri, field="seq"), CollectingOutlet(), interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    db["source"].insert_many([{"seq": n} for n in range(3, 6)])
    # "Crash" after a pull: the inlet moved on in memory, nothing was committed.
    lost = MongoInlet("source", database, uri=mongo_uri, field="seq", start_after=2)
    lost.pull(None)
    assert lost.position == 5
    keep = CollectingOutlet()
    restarted = Link(MongoInlet("source", database, uri=mongo_uri, field="seq"), keep, interval=1, stage=stage)
    restarted.transfer()
    restarted.on_shutdown()
    assert [r.payload["seq"] for r in keep.records] == [3, 4, 5]


def test_bson_values_round_trip_through_the_stage(mongo_uri, database, db, tmp_path):
    document = {"_id": ObjectId(), "count": Int64(2**40), "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 6000)}
    db["source"].insert_one(document)
    stage = tmp_path / "s.stage"
    link = Link(MongoInlet("source", database, uri=mongo_uri), CollectingOutlet(failures=1), interval=1, stage=stage,
                ignore_exceptions=True)
    link.transfer()
    link.on_shutdown()
    keep = CollectingOutlet()
    link2 = Link(MongoInlet("source", database, uri=mongo_uri), keep, interval=1, stage=stage)
    link2.transfer()
    link2.on_shutdown()
    [record] = keep.records
    assert record.payload == document
    assert type(record.payload["_id"]) is ObjectId and type(record.payload["count"]) is Int64


def test_every_bson_type_is_allowed_in_a_stage():
    from bson import Binary, Code, DBRef, MaxKey, MinKey, Regex, Timestamp
    from bson.son import SON
    from databay.stage import codec
    from databay_mongo import stage_types  # noqa: F401

    values = [ObjectId(), Decimal128("9.99"), Int64(7), Timestamp(1, 2), Binary(b"x", 4), Regex("a.*", "i"),
              Code("f()"), MinKey(), MaxKey(), DBRef("c", 1), SON([("a", 1)])]
    payloads, _ = codec.decode(codec.encode([values], [{}]))
    assert payloads == [values] and [type(v) for v in payloads[0]] == [type(v) for v in values]


def test_bson_values_are_rebuilt_through_their_constructors():
    import re

    from bson import Code, DBRef, Regex
    from bson.tz_util import FixedOffset
    from databay.stage import codec
    from databay_mongo import stage_types

    at = datetime.datetime(2024, 1, 2, tzinfo=FixedOffset(90, "plus90"))
    values = [Code("f(x)", {"x": 1}), DBRef("c", ObjectId(), "db", extra=[1, 2]), Regex("a.*", re.I | re.M), at]
    [decoded], _ = codec.decode(codec.encode([values], [{}]))
    assert decoded == values
    assert decoded[0].scope == {"x": 1} and decoded[1].database == "db" and decoded[1].extra == [1, 2]
    assert type(decoded[2].flags) is re.RegexFlag and decoded[3].tzinfo.tzname(None) == "plus90"
    # A tampered state is refused by the type's own constructor, never stored in an ObjectId.
    name = f"{ObjectId.__module__}:{ObjectId.__qualname__}"
    assert stage_types.CODECS[ObjectId][1] is ObjectId
    with pytest.raises(codec.DecodeError, match=f"a {name} cannot be rebuilt"):
        codec.decode(forged_batch(name, b"short"))


def forged_batch(name, state) -> bytes:
    """A batch holding a tagged value ``(name, state)`` that no encode() made."""
    import io
    import pickle

    from databay.stage import codec

    class Forged:
        def __reduce__(self):
            return codec._tagged, (name, state)

    class Pickler(pickle.Pickler):
        def reducer_override(self, obj):
            return "_tagged" if obj is codec._tagged else NotImplemented

    buffer = io.BytesIO()
    Pickler(buffer, protocol=5).dump(([Forged()], [{}]))
    return buffer.getvalue()
