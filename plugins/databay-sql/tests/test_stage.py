"""SqlOutlet and SqlInlet on staged links: an upsert's redelivery writes nothing twice, and the
inlet's position is committed with the rows it read."""

from __future__ import annotations

import datetime
import decimal

import sqlalchemy as sa
from databay import Link, Record
from databay.stage import Stage
from databay.testing import CollectingOutlet, LosesTheAnswer, SequenceInlet
from databay_sql import SqlInlet, SqlOutlet


class LosingSqlOutlet(LosesTheAnswer, SqlOutlet):
    """Commits, then fails as if the connection dropped before the commit's answer arrived."""


def numbers_table(db, keyed: bool):
    db.create_table("numbers", sa.Column("n", sa.Integer, primary_key=keyed, autoincrement=False))


def transfer_once(inlet, outlet, stage, **settings) -> None:
    """One transfer of a new link on ``stage``, then its shutdown: a process that runs once."""
    link = Link(inlet, outlet, interval=1, stage=stage, **settings)
    link.transfer()
    link.on_shutdown()


def through_the_stage(make_inlet, stage) -> Record:
    """The one record of ``make_inlet()``'s pull, staged while the outlet was down, as a new
    process on the same stage delivers it."""
    transfer_once(make_inlet(), CollectingOutlet(failures=1), stage, ignore_exceptions=True)  # staged, not delivered
    keep = CollectingOutlet()
    transfer_once(make_inlet(), keep, stage)
    [record] = keep.records
    return record


def test_an_upsert_redelivered_writes_nothing_twice(db, tmp_path):
    numbers_table(db, keyed=True)
    link = Link(SequenceInlet(), LosingSqlOutlet(db.url, "numbers", "upsert", "n"), interval=1, stage=tmp_path / "s.stage",
                ignore_exceptions=True)
    link.transfer()  # written, but the outlet failed: the batch stays pending
    assert [b.batches for b in link.stage.backlog()] == [1]
    link.transfer()  # batch 1 again (the same rows: updated in place), then batch 2
    link.on_shutdown()
    assert [r["n"] for r in db.rows("numbers", "n")] == [0, 1, 2, 3, 4, 5]


def test_an_insert_redelivered_writes_twice(db, tmp_path):
    numbers_table(db, keyed=False)
    link = Link(SequenceInlet(), LosingSqlOutlet(db.url, "numbers"), interval=1, stage=tmp_path / "s.stage",
                ignore_exceptions=True)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    assert sorted(r["n"] for r in db.rows("numbers")) == [0, 0, 1, 1, 2, 2, 3, 4, 5]


def test_the_inlet_position_is_committed_with_its_rows(db, tmp_path):
    db.create_table("source", sa.Column("seq", sa.Integer))
    db.insert("source", [{"seq": n} for n in range(5)])
    stage = tmp_path / "s.stage"
    keep = CollectingOutlet()
    transfer_once(SqlInlet(db.url, "source", cursor="seq"), keep, stage)
    with Stage(stage) as opened:
        assert opened.inlet_states() == {"SqlInlet": {"cursor": ["seq"], "after": [4], "table": "source"}}
    db.insert("source", [{"seq": n} for n in range(5, 8)])
    keep2 = CollectingOutlet()  # a new process: the position comes from the stage
    transfer_once(SqlInlet(db.url, "source", cursor="seq"), keep2, stage)
    assert [r.payload["seq"] for r in keep.records] == [0, 1, 2, 3, 4]
    assert [r.payload["seq"] for r in keep2.records] == [5, 6, 7]


def test_rows_pulled_but_never_committed_are_read_again(db, tmp_path):
    db.create_table("source", sa.Column("seq", sa.Integer))
    db.insert("source", [{"seq": n} for n in range(3)])
    stage = tmp_path / "s.stage"
    transfer_once(SqlInlet(db.url, "source", cursor="seq"), CollectingOutlet(), stage)
    db.insert("source", [{"seq": n} for n in range(3, 6)])
    lost = SqlInlet(db.url, "source", cursor="seq")  # a run that pulled 3-5, then died before committing them
    lost.set_state(Stage(stage).open().inlet_states()["SqlInlet"])
    assert [row["seq"] for row in lost.pull(None)] == [3, 4, 5]
    lost.on_shutdown()
    keep = CollectingOutlet()
    transfer_once(SqlInlet(db.url, "source", cursor="seq"), keep, stage)
    assert [r.payload["seq"] for r in keep.records] == [3, 4, 5]


def test_database_values_round_trip_through_the_stage(db, tmp_path):
    db.create_table("source", sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime),
                    sa.Column("price", sa.Numeric(10, 2)), sa.Column("blob", sa.LargeBinary))
    row = {"id": 1, "at": datetime.datetime(2024, 1, 2, 3, 4, 5, 6000), "price": decimal.Decimal("9.99"),
           "blob": b"\x00\x01"}
    db.insert("source", [row])
    record = through_the_stage(lambda: SqlInlet(db.url, "source", cursor="id"), tmp_path / "s.stage")
    assert record.payload == row


def test_postgres_types_round_trip_through_the_stage(pg_db, tmp_path):
    pg_db.execute("CREATE TABLE hosts (id serial PRIMARY KEY, address inet, network cidr, key uuid, doc jsonb)",
                  "INSERT INTO hosts (address, network, key, doc) VALUES ('10.0.0.1', '10.0.0.0/8', "
                  "'12345678-1234-5678-1234-567812345678', '{\"a\": [1, 2]}')")
    record = through_the_stage(lambda: SqlInlet(pg_db.url, "hosts", cursor="id"), tmp_path / "s.stage")
    assert str(record.payload["address"]) == "10.0.0.1" and str(record.payload["network"]) == "10.0.0.0/8"
    assert str(record.payload["key"]) == "12345678-1234-5678-1234-567812345678"
    assert record.payload["doc"] == {"a": [1, 2]}
