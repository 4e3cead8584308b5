"""Properties: whatever the batch sizes and ties, an inlet reads every row exactly once; cursor
values survive the JSON of a stage; an outlet writes exactly the rows it was given."""

from __future__ import annotations

import datetime
import decimal
import json
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from databay import Record, Update
from databay_sql import SqlInlet, SqlOutlet, cursor_values
from hypothesis import given, settings
from hypothesis import strategies as st

UPDATE = Update(["property"], 0)

# Rounds of inserts: each round, the gaps between consecutive cursor values (0 is a tie).
rounds = st.lists(st.lists(st.integers(min_value=0, max_value=2), min_size=0, max_size=12), min_size=1, max_size=5)
batch_sizes = st.lists(st.one_of(st.none(), st.integers(min_value=1, max_value=5)), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None)
@given(rounds=rounds, batch_sizes=batch_sizes, data=st.data())
def test_each_row_is_read_once_whatever_the_batches_and_ties(rounds, batch_sizes, data):
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'p.db'}"
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, c INTEGER)")
        inlets = [SqlInlet(url, "t", cursor="c", batch_size=size) for size in batch_sizes]
        read: list[list[int]] = [[] for _ in inlets]
        value, next_id = 0, 0
        for gaps in rounds:
            value += 1  # a later round's rows lie past everything before: the cursor grows
            rows = []
            for gap in gaps:
                value += gap
                rows.append({"id": next_id, "c": value})
                next_id += 1
            if rows:
                with engine.begin() as connection:
                    connection.execute(sa.text("INSERT INTO t (id, c) VALUES (:id, :c)"), rows)
            for inlet, ids in zip(inlets, read):
                for _ in range(data.draw(st.integers(min_value=0, max_value=2))):
                    pulled = inlet.pull(UPDATE)
                    assert [r["c"] for r in pulled] == sorted(r["c"] for r in pulled)
                    ids.extend(r["id"] for r in pulled)
        for inlet, ids in zip(inlets, read):
            while pulled := inlet.pull(UPDATE):
                ids.extend(r["id"] for r in pulled)
            inlet.on_shutdown()
            assert sorted(ids) == list(range(next_id))
        engine.dispose()


@settings(max_examples=40, deadline=None)
@given(stamps=st.lists(st.lists(st.integers(min_value=0, max_value=3), min_size=1, max_size=6), min_size=1,
                       max_size=4),
       batch_size=st.integers(min_value=1, max_value=4))
def test_a_compound_cursor_reads_late_rows_sharing_a_timestamp(stamps, batch_size):
    """Rows added later may repeat a timestamp already read: ``(at, id)`` still reads each once."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'p.db'}"
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (id INTEGER PRIMARY KEY, at INTEGER)")
        inlet = SqlInlet(url, "t", cursor=["at", "id"], batch_size=batch_size)
        ids: list[int] = []
        next_id, floor = 0, 0
        for round_stamps in stamps:
            rows = []
            for offset in sorted(round_stamps):
                rows.append({"id": next_id, "at": floor + offset})
                next_id += 1
            floor = max(r["at"] for r in rows)  # the next round may repeat this timestamp, with greater ids
            with engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO t (id, at) VALUES (:id, :at)"), rows)
            ids.extend(r["id"] for r in inlet.pull(UPDATE))
        while pulled := inlet.pull(UPDATE):
            ids.extend(r["id"] for r in pulled)
        inlet.on_shutdown()
        engine.dispose()
        assert sorted(ids) == list(range(next_id)) and len(ids) == next_id


# Drivers give timestamps with fixed UTC offsets (never a zone's rules, whose gaps and folds
# compare unequal across zones by design: PEP 495).
fixed_offsets = st.builds(datetime.timezone, st.timedeltas(min_value=datetime.timedelta(hours=-23),
                                                           max_value=datetime.timedelta(hours=23)))
cursor_scalars = st.one_of(
    st.integers(), st.text(), st.floats(allow_nan=False, allow_infinity=False), st.booleans(),
    st.datetimes(timezones=st.one_of(st.none(), fixed_offsets)), st.dates(), st.times(),
    st.decimals(allow_nan=False, allow_infinity=False), st.uuids(), st.binary())


@given(cursor_scalars)
def test_cursor_values_survive_json(value):
    restored = cursor_values.decode(json.loads(json.dumps(cursor_values.encode(value))))
    assert restored == value and type(restored) is type(value)
    if isinstance(value, datetime.datetime | datetime.time):
        assert restored.utcoffset() == value.utcoffset()


rows = st.lists(st.fixed_dictionaries({"name": st.text(max_size=20)},
                                      optional={"qty": st.integers(min_value=-2**31, max_value=2**31 - 1),
                                                "price": st.decimals(min_value=-1000, max_value=1000, places=2)}),
                max_size=30)


@settings(max_examples=40, deadline=None)
@given(pushes=st.lists(rows, min_size=1, max_size=3))
def test_an_outlet_writes_exactly_the_rows_pushed(pushes):
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'p.db'}"
        engine = sa.create_engine(url)
        metadata = sa.MetaData()
        table = sa.Table("t", metadata, sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.Text),
                         sa.Column("qty", sa.Integer), sa.Column("price", sa.Numeric(10, 2)))
        metadata.create_all(engine)
        outlet = SqlOutlet(url, "t")
        for push in pushes:
            outlet.push([Record(row) for row in push], UPDATE)
        outlet.on_shutdown()
        with engine.connect() as connection:
            written = [dict(r) for r in connection.execute(sa.select(table.c.name, table.c.qty, table.c.price)
                                                           .order_by(table.c.id)).mappings()]
        engine.dispose()
        expected = [{"name": r["name"], "qty": r.get("qty"), "price": r.get("price")} for push in pushes for r in push]
        assert written == expected


def test_other_types_are_refused_clearly():
    import pytest

    with pytest.raises(TypeError, match="a cursor value of type list"):
        cursor_values.encode([1])
    with pytest.raises(ValueError, match="not a cursor value"):
        cursor_values.decode({"complex": "1j"})
    assert cursor_values.decode(cursor_values.encode(uuid.UUID(int=5))) == uuid.UUID(int=5)
    assert cursor_values.encode(decimal.Decimal("1.10")) == {"decimal": "1.10"}
