"""Record: payload, metadata, equality and hashing."""

from databay import Record
from databay.record import Record as RecordFromModule


def test_import_paths_agree():
    assert Record is RecordFromModule


def test_payload_and_metadata():
    record = Record(payload={"a": 1}, metadata={"k": "v"})
    assert record.payload == {"a": 1}
    assert record.metadata == {"k": "v"}


def test_metadata_defaults_to_a_fresh_empty_dict():
    first, second = Record(1), Record(2)
    assert first.metadata == {}
    first.metadata["x"] = 1
    assert second.metadata == {}


def test_payload_can_be_reassigned_by_processors():
    record = Record(99.999)
    record.payload = round(record.payload)
    assert record.payload == 100


def test_equality_compares_payload_and_metadata():
    assert Record(1, {"a": 1}) == Record(1, {"a": 1})
    assert Record(1, {"a": 1}) != Record(1, {"a": 2})
    assert Record(1) != Record(2)
    assert Record(1) != 1


def test_remove_duplicates_processor_from_the_manual():
    records = [Record(1), Record(2), Record(1), Record([3]), Record([3])]
    result = []
    for record in records:
        if record not in result:
            result.append(record)
    assert [r.payload for r in result] == [1, 2, [3]]


def test_hash_by_payload_when_hashable_else_by_identity():
    assert hash(Record("x")) == hash(Record("x")) == hash("x")
    unhashable = Record({"a": 1})
    assert hash(unhashable) == id(unhashable)
    assert len({Record(1), Record(1), Record(2)}) == 2


def test_repr():
    assert repr(Record(5, {"k": "v"})) == "Record(payload=5, metadata={'k': 'v'})"
