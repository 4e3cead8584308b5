"""SqlInlet on SQLite and PostgreSQL: rows past the cursor, in order, each once; ties; queries; state."""

from __future__ import annotations

import datetime
import json
import logging

import pytest
import sqlalchemy as sa
from databay_sql import SqlColumnError, SqlInlet, SqlOperationError, SqlTableNotFound


def orders(db):
    return db.create_table("orders", sa.Column("id", sa.Integer, primary_key=True),
                           sa.Column("customer", sa.String(20)), sa.Column("total", sa.Integer),
                           sa.Column("at", sa.DateTime))


def at(second: int) -> datetime.datetime:
    return datetime.datetime(2024, 5, 1, 12, 0, 0) + datetime.timedelta(seconds=second)


def test_each_pull_reads_the_new_rows_in_cursor_order(db, update):
    orders(db)
    db.insert("orders", [{"id": i, "customer": f"c{i}", "total": i * 10, "at": at(i)} for i in (3, 1, 2)])
    inlet = SqlInlet(db.url, "orders", cursor="id")
    rows = inlet.pull(update)
    assert rows == [{"id": i, "customer": f"c{i}", "total": i * 10, "at": at(i)} for i in (1, 2, 3)]
    assert {type(key) for row in rows for key in row} == {str}  # not SQLAlchemy's quoted_name: a stage keeps str
    assert inlet.position == (3,)
    assert inlet.pull(update) == []
    db.insert("orders", [{"id": 4, "customer": "c4", "total": 40, "at": at(4)}])
    assert [row["id"] for row in inlet.pull(update)] == [4]
    inlet.on_shutdown()


def test_batch_size_limits_a_pull(db, update):
    orders(db)
    db.insert("orders", [{"id": i, "customer": "c", "total": i} for i in range(1, 8)])
    inlet = SqlInlet(db.url, "orders", cursor="id", batch_size=3)
    assert [[row["id"] for row in inlet.pull(update)] for _ in range(4)] == [[1, 2, 3], [4, 5, 6], [7], []]
    inlet.on_shutdown()


def test_a_pull_never_splits_rows_sharing_a_cursor_value(db, update):
    orders(db)
    # Timestamps: 0, 1, 1, 1, 2, 3, 3
    seconds = [0, 1, 1, 1, 2, 3, 3]
    db.insert("orders", [{"id": i, "customer": "c", "total": 0, "at": at(s)} for i, s in enumerate(seconds)])
    inlet = SqlInlet(db.url, "orders", cursor="at", batch_size=2)
    pulls = [sorted(row["id"] for row in inlet.pull(update)) for _ in range(4)]
    inlet.on_shutdown()
    # The 2nd row's value (1) is shared with two more rows beyond the limit: they come along.
    assert pulls == [[0, 1, 2, 3], [4, 5, 6], [], []]


def test_a_batch_of_ties_only(db, update):
    orders(db)
    db.insert("orders", [{"id": i, "customer": "c", "total": 0, "at": at(5)} for i in range(4)])
    inlet = SqlInlet(db.url, "orders", cursor="at", batch_size=2)
    assert sorted(row["id"] for row in inlet.pull(update)) == [0, 1, 2, 3]
    assert inlet.pull(update) == []
    inlet.on_shutdown()


def test_a_compound_cursor_reads_rows_added_later_with_the_same_timestamp(db, update):
    orders(db)
    db.insert("orders", [{"id": 1, "at": at(1)}, {"id": 2, "at": at(1)}, {"id": 3, "at": at(2)}])
    inlet = SqlInlet(db.url, "orders", cursor=["at", "id"], batch_size=2)
    assert [row["id"] for row in inlet.pull(update)] == [1, 2]
    assert inlet.position == (at(1), 2)
    db.insert("orders", [{"id": 4, "at": at(1)}])  # the same timestamp, a greater id
    assert [row["id"] for row in inlet.pull(update)] == [4, 3]
    assert inlet.pull(update) == []
    single = SqlInlet(db.url, "orders", cursor="at", start_after=at(1))
    assert [row["id"] for row in single.pull(update)] == [3]  # with one column, row 4 would have been missed
    inlet.on_shutdown()
    single.on_shutdown()


def test_rows_with_a_null_cursor_are_never_read(db, update):
    orders(db)
    db.insert("orders", [{"id": 1, "at": None}, {"id": 2, "at": at(1)}, {"id": 3, "at": None}])
    inlet = SqlInlet(db.url, "orders", cursor=["at", "id"])
    assert [row["id"] for row in inlet.pull(update)] == [2]
    inlet.on_shutdown()


def test_start_after(db, update):
    orders(db)
    db.insert("orders", [{"id": i} for i in range(1, 6)])
    inlet = SqlInlet(db.url, "orders", cursor="id", start_after=3)
    assert [row["id"] for row in inlet.pull(update)] == [4, 5]
    inlet.position = 1
    assert [row["id"] for row in inlet.pull(update)] == [2, 3, 4, 5]
    inlet.position = None
    assert len(inlet.pull(update)) == 5
    inlet.on_shutdown()


def test_a_query_with_parameters(db, update):
    orders(db)
    db.insert("orders", [{"id": i, "customer": "big" if i % 2 else "small", "total": i} for i in range(1, 7)])
    inlet = SqlInlet(db.url, query="SELECT id, total * 2 AS doubled FROM orders WHERE customer = :who;",
                     parameters={"who": "big"}, cursor="id", batch_size=2)
    assert inlet.pull(update) == [{"id": 1, "doubled": 2}, {"id": 3, "doubled": 6}]
    assert inlet.pull(update) == [{"id": 5, "doubled": 10}]
    assert inlet.pull(update) == []
    assert inlet.get_state() == {"cursor": ["id"], "after": [5]}
    inlet.on_shutdown()


def test_a_query_without_the_cursor_column(db, update):
    orders(db)
    db.insert("orders", [{"id": 1}])
    inlet = SqlInlet(db.url, query="SELECT customer FROM orders", cursor="id")
    with pytest.raises(SqlOperationError, match=r"SqlInlet could not read new rows of query 'SELECT customer FROM "
                                                r"orders' at \S+: .*id"):
        inlet.pull(update)
    assert inlet.position is None
    inlet.on_shutdown()


def test_the_state_round_trips_every_cursor_type(db, update):
    db.create_table("things", sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime),
                    sa.Column("day", sa.Date), sa.Column("price", sa.Numeric(10, 2)), sa.Column("code", sa.String(5)))
    db.insert("things", [{"id": 1, "at": at(1), "day": datetime.date(2024, 1, 2), "price": 1.5, "code": "b"},
                         {"id": 2, "at": at(2), "day": datetime.date(2024, 1, 3), "price": 2.25, "code": "c"}])
    for cursor in ("id", "at", "day", "price", "code"):
        inlet = SqlInlet(db.url, "things", cursor=cursor, batch_size=1)
        inlet.pull(update)
        state = inlet.get_state()
        restored = SqlInlet(db.url, "things", cursor=cursor)
        restored.set_state(json.loads(json.dumps(state)))
        assert restored.position == inlet.position, cursor
        assert [row["id"] for row in restored.pull(update)] == [2], cursor
        inlet.on_shutdown()
        restored.on_shutdown()


def test_a_state_for_another_cursor_or_table_is_ignored(sqlite_db, update, caplog):
    orders(sqlite_db)
    inlet = SqlInlet(sqlite_db.url, "orders", cursor="id")
    with caplog.at_level(logging.WARNING, "databay.SqlInlet"):
        inlet.set_state({"cursor": ["at"], "after": [1], "table": "orders"})
        inlet.set_state({"cursor": ["id"], "after": [1], "table": "other"})
    assert inlet.position is None
    assert "ignoring a saved position for cursor ['at'] of orders" in caplog.text
    inlet.set_state({"cursor": ["id"], "after": [7], "table": "orders"})
    assert inlet.position == (7,)


def test_a_missing_table_or_cursor_column(db, update):
    orders(db)
    with pytest.raises(SqlTableNotFound, match=r"SqlInlet: table 'order' not found at \S+ \(tables there: orders\)"):
        SqlInlet(db.url, "order", cursor="id").pull(update)
    with pytest.raises(SqlColumnError, match=r"cursor column\(s\) created are not columns of table 'orders' .* "
                                             r"\(its columns: id, customer, total, at\)"):
        SqlInlet(db.url, "orders", cursor="created").pull(update)


@pytest.mark.parametrize("arguments, message", [
    ({}, "give either table .* or query .*, not both or neither"),
    ({"table": "t", "query": "SELECT 1"}, "not both or neither"),
    ({"table": "t", "cursor": []}, "cursor must be a column name or a list of column names"),
    ({"table": "t", "cursor": ["a", "a"]}, "cursor names a column twice"),
    ({"table": "t", "batch_size": 0}, "batch_size must be a positive integer or None"),
    ({"table": "t", "parameters": {"a": 1}}, "parameters are the values of a query's :name parameters"),
    ({"query": "SELECT :a AS id", "parameters": {"b": 1}}, "parameters do not fit the query"),
    ({"table": "t", "cursor": ["a", "b"], "start_after": 1}, r"a position needs one value per cursor column"),
])
def test_invalid_arguments(arguments, message):
    arguments = {"url": "sqlite://", "cursor": "id", **arguments}
    with pytest.raises(ValueError, match=message):
        SqlInlet(**arguments)


def test_a_bytes_cursor(sqlite_db, update):
    sqlite_db.execute("CREATE TABLE blobs (k BLOB)", "INSERT INTO blobs VALUES (x'0102')")
    inlet = SqlInlet(sqlite_db.url, "blobs", cursor="k")
    assert inlet.pull(update) == [{"k": b"\x01\x02"}]
    assert inlet.get_state()["after"] == [{"bytes": "AQI="}]
    inlet.on_shutdown()


def test_a_cursor_value_that_cannot_be_kept(pg_db, update):
    pg_db.execute("CREATE TABLE hosts (address inet)", "INSERT INTO hosts VALUES ('10.0.0.1')")
    inlet = SqlInlet(pg_db.url, "hosts", cursor="address")
    with pytest.raises(TypeError, match="SqlInlet: cursor column 'address' of table 'hosts': a cursor value of type IPv4Address .* cannot be kept as the inlet's position"):
        inlet.pull(update)
    assert inlet.position is None
    inlet.on_shutdown()
