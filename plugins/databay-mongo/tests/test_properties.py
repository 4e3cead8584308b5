"""Properties checked with generated data against the real server."""

from __future__ import annotations

import copy
import itertools

from databay import Record
from databay.update import Update
from databay_mongo.inlet import MongoInlet
from databay_mongo.outlet import MongoOutlet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

KEY = MongoOutlet.MONGODB_COLLECTION
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
_runs = itertools.count()

keys = st.text(st.characters(codec="utf-8", exclude_characters="\x00.$"), min_size=1, max_size=8).filter(
    lambda k: k != "_id")
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1), st.text(max_size=10),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
                      max_leaves=6)
documents = st.dictionaries(keys, values, max_size=4)
payloads = st.one_of(documents, st.lists(documents, max_size=3))
records = st.lists(st.tuples(payloads, st.sampled_from([None, "a", "b"])), max_size=8)


@SETTINGS
@given(records)
def test_every_document_is_written_once_to_its_collection_and_payloads_stay(mongo_uri, database, db, spec) -> None:
    run = next(_runs)
    batch = [Record(p, {KEY: f"{c}{run}"} if c else {}) for p, c in spec]
    before = copy.deepcopy([r.payload for r in batch])
    outlet = MongoOutlet(database, f"default{run}", uri=mongo_uri)
    outlet.push(batch, Update(["prop"], run))
    outlet.disconnect()
    assert [r.payload for r in batch] == before
    expected: dict[str, list] = {}
    for payload, collection in spec:
        name = f"{collection or 'default'}{run}"
        expected.setdefault(name, []).extend(payload if isinstance(payload, list) else [payload])
    for name, docs in expected.items():
        stored = [{k: v for k, v in d.items() if k != "_id"} for d in db[name].find().sort("_id", 1)]
        assert stored == docs


@SETTINGS
@given(st.lists(st.lists(st.integers(0, 1000), max_size=5), min_size=1, max_size=6), st.sampled_from([None, 1, 3]))
def test_inlet_produces_every_document_once(mongo_uri, database, db, rounds, max_documents) -> None:
    collection = f"seq{next(_runs)}"
    inlet = MongoInlet(collection, database, field="seq", max_documents=max_documents, uri=mongo_uri)
    # Values only grow from round to round, as the field's contract requires; ties are allowed.
    base, produced, inserted = 0, [], []
    for values in rounds:
        docs = [{"seq": base + v} for v in values]
        base += 1001
        if docs:
            db[collection].insert_many(docs)
            inserted += [d["_id"] for d in docs]
        while batch := inlet.pull(Update(["prop"], 0)):
            produced += batch
    inlet.disconnect()
    assert sorted(str(d["_id"]) for d in produced) == sorted(str(i) for i in inserted)
    assert [d["seq"] for d in produced] == sorted(d["seq"] for d in produced)
