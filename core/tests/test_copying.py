"""copy_records: copies equal to the originals that share nothing mutable with them."""

from __future__ import annotations

import copy
import datetime

from databay import Record
from databay.copying import copy_records, copy_value
from hypothesis import given, settings
from hypothesis import strategies as st

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=5))
json_like = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=3), children, max_size=4),
    ),
    max_leaves=20,
)


def mutable_parts(value, found=None):
    """Every dict and list inside ``value`` (what a consumer could modify)."""
    found = [] if found is None else found
    if isinstance(value, (dict, list)):
        found.append(value)
    children = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else []
    for child in children:
        mutable_parts(child, found)
    return found


@settings(max_examples=200, deadline=None)
@given(payloads=st.lists(json_like, max_size=5), metadata=st.dictionaries(st.text(max_size=3), json_like, max_size=3))
def test_copies_are_equal_and_share_no_mutable_part(payloads, metadata):
    originals = [Record(p, copy.deepcopy(metadata)) for p in payloads]
    copies = copy_records(originals)
    assert copies == originals
    assert all(type(c) is Record for c in copies)
    for original, copied in zip(originals, copies):
        assert copied is not original
        theirs = {id(x) for x in mutable_parts(original.payload) + mutable_parts(original.metadata)}
        mine = {id(x) for x in mutable_parts(copied.payload) + mutable_parts(copied.metadata)}
        assert theirs.isdisjoint(mine)


def test_immutable_leaves_are_shared_not_copied():
    text = "x" * 1000
    original = Record({"t": text, "nested": [text]}, {"k": text})
    copied = copy_records([original])[0]
    assert copied.payload["t"] is text and copied.payload["nested"][0] is text
    assert copied.payload["nested"] is not original.payload["nested"]


def test_dates_and_times_are_shared_like_other_immutable_values():
    when = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
    original = Record({"day": when.date(), "at": [when]}, {"Stage.BATCH_TIME": when})
    copied = copy_records([original])[0]
    assert copied == original
    assert copied.metadata["Stage.BATCH_TIME"] is when and copied.payload["at"][0] is when
    assert copied.metadata is not original.metadata and copied.payload["at"] is not original.payload["at"]


def test_flat_dict_records_are_copied():
    originals = [Record({"a": 1, "b": "x"}, {"__inlet__": "I()"}) for _ in range(3)]
    copies = copy_records(originals)
    copies[0].payload["a"] = 99
    copies[0].metadata["m"] = 1
    assert originals[0].payload == {"a": 1, "b": "x"} and originals[0].metadata == {"__inlet__": "I()"}


def test_other_objects_are_deep_copied():
    class Point:
        def __init__(self, xs):
            self.xs = xs

    original = Record(Point([1, 2]))
    copied = copy_records([original])[0]
    assert copied.payload is not original.payload and copied.payload.xs == [1, 2]
    assert copied.payload.xs is not original.payload.xs


def test_self_referencing_structures_keep_their_shape():
    looped: list = [1]
    looped.append(looped)
    copied = copy_value(looped)
    assert copied is not looped
    assert copied[0] == 1 and copied[1] is copied
    cyclic: dict = {"x": 1}
    cyclic["self"] = cyclic
    record = copy_records([Record(cyclic)])[0]
    assert record.payload is not cyclic and record.payload["self"] is record.payload
