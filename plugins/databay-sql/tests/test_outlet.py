"""SqlOutlet on SQLite and PostgreSQL: rows from records, insert and upsert, one transaction per push."""

from __future__ import annotations

import datetime
import decimal

import pytest
import sqlalchemy as sa
from databay import Link, Record
from databay_sql import SqlColumnError, SqlOperationError, SqlOutlet, SqlTableNotFound


def people(db):
    return db.create_table("people", sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
                           sa.Column("name", sa.String(50), nullable=False),
                           sa.Column("age", sa.Integer),
                           sa.Column("country", sa.String(2), server_default="NL"))


def test_insert_writes_one_row_per_record_and_list_element(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people")
    outlet.push([Record({"id": 1, "name": "Ada", "age": 36}),
                 Record([{"id": 2, "name": "Alan"}, {"id": 3, "name": "Grace", "age": 85, "country": "US"}])], update)
    outlet.on_shutdown()
    assert db.rows("people", "id") == [
        {"id": 1, "name": "Ada", "age": 36, "country": "NL"},      # a column the row does not name: its default
        {"id": 2, "name": "Alan", "age": None, "country": "NL"},
        {"id": 3, "name": "Grace", "age": 85, "country": "US"},
    ]


def test_rows_naming_other_columns_in_one_push(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people")
    outlet.push([Record({"id": i, "name": f"n{i}"}) if i % 3 else Record({"name": f"n{i}", "id": i, "age": i})
                 for i in range(10)], update)
    outlet.on_shutdown()
    rows = db.rows("people", "id")
    assert [(r["id"], r["age"]) for r in rows] == [(i, None if i % 3 else i) for i in range(10)]


def test_values_are_converted_by_the_column_types(db, update):
    db.create_table("typed", sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("at", sa.DateTime(timezone=False)), sa.Column("day", sa.Date),
                    sa.Column("price", sa.Numeric(10, 2)), sa.Column("ok", sa.Boolean),
                    sa.Column("doc", sa.JSON))
    at = datetime.datetime(2024, 5, 1, 12, 30, 15, 250000)
    outlet = SqlOutlet(db.url, "typed")
    outlet.push([Record({"id": 1, "at": at, "day": at.date(), "price": decimal.Decimal("9.99"), "ok": True,
                         "doc": {"tags": ["a", "b"], "n": 1}})], update)
    outlet.on_shutdown()
    [row] = db.rows("typed")
    assert row == {"id": 1, "at": at, "day": at.date(), "price": decimal.Decimal("9.99"), "ok": True,
                   "doc": {"tags": ["a", "b"], "n": 1}}


def test_upsert_inserts_new_rows_and_updates_existing_ones(db, update):
    people(db)
    db.insert("people", [{"id": 1, "name": "Ada", "age": 36, "country": "UK"}])
    outlet = SqlOutlet(db.url, "people", mode="upsert", key="id")
    outlet.push([Record({"id": 1, "name": "Ada Lovelace"}), Record({"id": 2, "name": "Alan", "age": 41})], update)
    outlet.push([Record({"id": 2, "name": "Alan Turing", "age": 41})], update)
    outlet.on_shutdown()
    assert db.rows("people", "id") == [
        {"id": 1, "name": "Ada Lovelace", "age": 36, "country": "UK"},  # columns a row does not name are kept
        {"id": 2, "name": "Alan Turing", "age": 41, "country": "NL"},
    ]


def test_upsert_twice_is_idempotent(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people", "upsert", ["id"])
    records = [Record({"id": i, "name": f"n{i}", "age": i}) for i in range(50)]
    outlet.push(records, update)
    outlet.push(records, update)
    outlet.on_shutdown()
    assert db.rows("people", "id") == [{"id": i, "name": f"n{i}", "age": i, "country": "NL"} for i in range(50)]


def test_upsert_of_the_same_key_twice_in_one_push_keeps_the_last(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people", "upsert", "id")
    outlet.push([Record({"id": 1, "name": "first"}), Record({"id": 1, "name": "second"})], update)
    outlet.on_shutdown()
    assert [r["name"] for r in db.rows("people")] == ["second"]


def test_upsert_on_a_unique_constraint_of_several_columns(db, update):
    db.create_table("scores", sa.Column("id", sa.Integer, primary_key=True), sa.Column("player", sa.String(10)),
                    sa.Column("day", sa.Integer), sa.Column("points", sa.Integer),
                    sa.UniqueConstraint("player", "day"))
    outlet = SqlOutlet(db.url, "scores", "upsert", ["player", "day"])
    outlet.push([Record({"player": "a", "day": 1, "points": 3}), Record({"player": "b", "day": 1, "points": 4})],
                update)
    outlet.push([Record({"player": "a", "day": 1, "points": 5})], update)
    outlet.on_shutdown()
    assert sorted((r["player"], r["day"], r["points"]) for r in db.rows("scores")) == [("a", 1, 5), ("b", 1, 4)]


def test_upsert_of_key_columns_only_changes_nothing(db, update):
    db.create_table("seen", sa.Column("id", sa.Integer, primary_key=True), sa.Column("note", sa.String(10)))
    db.insert("seen", [{"id": 1, "note": "kept"}])
    outlet = SqlOutlet(db.url, "seen", "upsert", "id")
    outlet.push([Record({"id": 1}), Record({"id": 2})], update)
    outlet.on_shutdown()
    assert db.rows("seen", "id") == [{"id": 1, "note": "kept"}, {"id": 2, "note": None}]


def test_upsert_needs_a_unique_key(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people", "upsert", "name")
    with pytest.raises(SqlColumnError, match=r"key \(name\) is neither the primary key nor a unique constraint "
                                             r"of table 'people'"):
        outlet.push([Record({"id": 1, "name": "x"})], update)
    with pytest.raises(SqlColumnError, match=r"key column\(s\) nope are not columns of table 'people'"):
        SqlOutlet(db.url, "people", "upsert", "nope").push([Record({"id": 1, "name": "x"})], update)
    outlet.on_shutdown()
    assert db.rows("people") == []


def test_upsert_rows_must_name_the_key(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people", "upsert", "id")
    with pytest.raises(SqlColumnError, match=r"cannot upsert record 1 of this push \(from Src\(\)\) into table "
                                             r"'people' at .*: it lacks the key column\(s\) id. Nothing of this "
                                             r"push was written"):
        outlet.push([Record({"id": 1, "name": "a"}), Record({"name": "b"}, {"__inlet__": "Src()"})], update)
    outlet.on_shutdown()
    assert db.rows("people") == []


def test_an_unknown_column_is_an_error_and_nothing_is_written(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people")
    with pytest.raises(SqlColumnError) as caught:
        outlet.push([Record({"id": 1, "name": "a"}), Record({"id": 2, "name": "b", "email": "b@example.org"},
                                                            {"__inlet__": "Src()"})], update)
    outlet.on_shutdown()
    assert str(caught.value).startswith("SqlOutlet cannot write record 1 of this push (from Src()) to table 'people' "
                                        "at ")
    assert str(caught.value).endswith(": it has no column 'email' (its columns: id, name, age, country). "
                                      "Nothing of this push was written")
    assert db.rows("people") == []


def test_a_column_added_after_the_first_push_is_found(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people")
    outlet.push([Record({"id": 1, "name": "a"})], update)
    db.execute("ALTER TABLE people ADD COLUMN email VARCHAR(50)")
    outlet.push([Record({"id": 2, "name": "b", "email": "b@example.org"})], update)
    outlet.on_shutdown()
    assert [r["email"] for r in db.rows("people", "id")] == [None, "b@example.org"]


@pytest.mark.parametrize("payload, shown", [(5, "int 5"), ("text", "str 'text'"), ([{"id": 1}, 2], "int 2")])
def test_a_payload_that_is_not_a_row(db, update, payload, shown):
    people(db)
    outlet = SqlOutlet(db.url, "people")
    with pytest.raises(TypeError, match=r"SqlOutlet cannot write record 1 of this push \(no inlet\).* to table "
                                        r"'people': a row must be a mapping \(dict\) of column names to values, "
                                        rf"or a list of them, got {shown}"):
        outlet.push([Record({"id": 9, "name": "x"}), Record(payload)], update)
    outlet.on_shutdown()
    assert db.rows("people") == []


def test_a_refused_row_rolls_the_whole_push_back(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "people")
    rows = [Record({"id": i, "name": f"n{i}"}) for i in range(5)] + [Record({"id": 5, "name": None})]
    with pytest.raises(SqlOperationError, match=r"SqlOutlet could not insert 6 row\(s\) into table 'people' at "
                                                r"\S+: .*(NOT NULL|not-null)"):
        outlet.push(rows, update)
    with pytest.raises(SqlOperationError, match=r"(UNIQUE|unique).*"):
        outlet.push([Record({"id": 7, "name": "a"}), Record({"id": 7, "name": "b"})], update)
    outlet.on_shutdown()
    assert db.rows("people") == []


def test_a_missing_table_names_those_there_are(db, update):
    people(db)
    outlet = SqlOutlet(db.url, "persons")
    with pytest.raises(SqlTableNotFound, match=r"SqlOutlet: table 'persons' not found at \S+ \(tables there: "
                                               r"people\)"):
        outlet.push([Record({"id": 1})], update)
    outlet.on_shutdown()


def test_an_empty_push_does_not_connect(update):
    outlet = SqlOutlet("sqlite:////nonexistent/folder/x.db", "t")
    outlet.push([], update)


def test_record_ids_as_the_key(db, update, tmp_path):
    db.create_table("events", sa.Column("databay_id", sa.String(80), primary_key=True), sa.Column("kind", sa.String(10)))

    class Events(SqlOutlet):
        lost = 1

        def push(self, records, update):
            super().push(records, update)
            if self.lost:  # written, but the answer never arrived: the stage delivers the batch again
                self.lost -= 1
                raise ConnectionError("connection reset")

    from databay import Inlet

    class Kinds(Inlet):
        def pull(self, update):
            return [{"kind": "a"}, [{"kind": "b"}, {"kind": "c"}]]

    outlet = Events(db.url, "events", "upsert", record_id_column="databay_id")
    link = Link(Kinds(), outlet, interval=1, stage=tmp_path / "s.stage", ignore_exceptions=True)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    uid = link.stage.uid
    assert sorted((r["databay_id"], r["kind"]) for r in db.rows("events")) == [
        (f"{uid}:1:0", "a"), (f"{uid}:1:1.0", "b"), (f"{uid}:1:1.1", "c"),
        (f"{uid}:2:0", "a"), (f"{uid}:2:1.0", "b"), (f"{uid}:2:1.1", "c")]


def test_record_ids_need_a_stage(db, update):
    db.create_table("events", sa.Column("databay_id", sa.String(80), primary_key=True), sa.Column("kind", sa.String(10)))
    outlet = SqlOutlet(db.url, "events", "upsert", record_id_column="databay_id")
    with pytest.raises(ValueError, match=r"cannot give record 0 of this push \(no inlet\) a stable id for column "
                                         r"'databay_id': it has no metadata\['Stage.RECORD_ID'\]"):
        outlet.push([Record({"kind": "a"})], update)
    with pytest.raises(SqlColumnError, match="it has a column 'databay_id' of its own"):
        outlet.push([Record({"kind": "a", "databay_id": "x"}, {"Stage.RECORD_ID": "s:1:0"})], update)
    outlet.on_shutdown()


def test_schema_of_the_table(pg_db, update):
    pg_db.execute("CREATE SCHEMA sales")
    pg_db.create_table("orders", sa.Column("id", sa.Integer, primary_key=True), sa.Column("total", sa.Integer),
                       schema="sales")
    outlet = SqlOutlet(pg_db.url, "orders", "upsert", "id", schema="sales")
    outlet.push([Record({"id": 1, "total": 5})], update)
    outlet.push([Record({"id": 1, "total": 6})], update)
    outlet.on_shutdown()
    assert pg_db.rows("orders", schema="sales") == [{"id": 1, "total": 6}]
    with pytest.raises(SqlTableNotFound, match=r"table 'orders' not found .*\(it has no tables\)"):
        SqlOutlet(pg_db.url, "orders").push([Record({"id": 1})], update)


def test_sqlite_memory_database_lives_as_long_as_the_outlet(update):
    outlet = SqlOutlet("sqlite://", "t")
    with outlet.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE t (n INTEGER)")
    outlet.push([Record({"n": 1})], update)
    outlet.push([Record({"n": 2})], update)
    with outlet.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT n FROM t ORDER BY n").scalars().all() == [1, 2]


@pytest.mark.parametrize("arguments, message", [
    ({"table": ""}, "table must be a non-empty string"),
    ({"mode": "replace"}, "mode must be 'insert' or 'upsert', got 'replace'"),
    ({"mode": "upsert"}, "mode='upsert' needs key"),
    ({"key": "id"}, r"key is only used with mode='upsert'"),
    ({"mode": "upsert", "key": ["id", "id"]}, "key names a column twice"),
    ({"mode": "upsert", "key": [1]}, "key must be a column name or a list of column names"),
    ({"timeout": 0}, "timeout must be a positive number of seconds"),
    ({"url": "not a url"}, "url 'not a url' is not an SQLAlchemy URL"),
    ({"url": "nosuchdb://x/y"}, "SQLAlchemy has no dialect for nosuchdb://x/y"),
    ({"url": "postgresql+psycopg2://u:secret-pw@h/d"},
     r"the database driver for postgresql\+psycopg2://u:\*\*\*@h/d is not installed: .*psycopg2.* "
     r"\(for PostgreSQL: pip install 'databay-sql\[postgresql\]' and use postgresql\+psycopg://...\)"),
    ({"engine_options": {"pool_size": "x", "nonsense": 1}}, "invalid engine_options for sqlite://"),
])
def test_invalid_arguments(arguments, message):
    arguments = {"url": "sqlite://", "table": "t", **arguments}
    with pytest.raises(ValueError, match=message):
        SqlOutlet(**arguments)


def test_upsert_only_where_the_dialect_has_it():
    import sqlite3

    # Any other dialect (given a DB-API module so that no driver is needed to build its engine).
    with pytest.raises(ValueError, match=r"mode='upsert' works on postgresql and sqlite, not on mysql"):
        SqlOutlet("mysql+pymysql://u@h/d", "t", "upsert", "id", engine_options={"module": sqlite3})
    SqlOutlet("mysql+pymysql://u@h/d", "t", engine_options={"module": sqlite3})  # insert works anywhere


def test_connect_args_must_be_a_mapping():
    with pytest.raises(ValueError, match="engine_options' connect_args must be a mapping of driver arguments, got str"):
        SqlOutlet("sqlite://", "t", engine_options={"connect_args": "timeout=5"})
