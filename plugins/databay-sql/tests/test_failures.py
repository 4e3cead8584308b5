"""Bad input and outages: one clear error naming the database (password hidden) and the table,
retried by RetryPolicy, and nothing lost on a staged link."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from databay import Link, Record, RetryPolicy
from databay.redaction import redact
from databay.stage import Stage
from databay.testing import SequenceInlet
from databay_sql import SqlConnectionError, SqlInlet, SqlOperationError, SqlOutlet
from databay_sql.testing import free_port

SECRET = "s3cret-Pa55word"


def people(db):
    db.create_table("people", sa.Column("id", sa.Integer, primary_key=True), sa.Column("name", sa.String(20)))


def person(n: int) -> dict:
    return {"id": n, "name": f"n{n}"}


def test_an_unreachable_server(update):
    port = free_port()
    outlet = SqlOutlet(f"postgresql+psycopg://app:{SECRET}@127.0.0.1:{port}/shop", "people", timeout=1)
    with pytest.raises(SqlConnectionError) as caught:
        outlet.push([Record({"id": 1})], update)
    message = str(caught.value)
    assert message.startswith(f"SqlOutlet cannot connect to postgresql+psycopg://app:***@127.0.0.1:{port}/shop to "
                              f"insert 1 row(s) into table 'people': ")
    assert "refused" in message.lower() and SECRET not in message
    inlet = SqlInlet(f"postgresql+psycopg://app:{SECRET}@127.0.0.1:{port}/shop", "people", cursor="id", timeout=1)
    with pytest.raises(SqlConnectionError, match=rf"SqlInlet cannot connect to postgresql\+psycopg://app:\*\*\*@"
                                                 rf"127.0.0.1:{port}/shop to read new rows of table 'people': "):
        inlet.pull(update)


def test_a_sqlite_file_that_cannot_be_opened(tmp_path, update):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be")
    outlet = SqlOutlet(f"sqlite:///{blocker}/data.db", "people")
    with pytest.raises(SqlConnectionError, match=rf"SqlOutlet cannot connect to sqlite:///{blocker}/data.db to "
                                                 r"insert 1 row\(s\) into table 'people': unable to open database"):
        outlet.push([Record({"id": 1})], update)


def test_wrong_credentials(pg_db, update):
    url = sa.make_url(pg_db.url).set(password="wrong-" + SECRET)
    outlet = SqlOutlet(url.render_as_string(hide_password=False), "people", timeout=2)
    with pytest.raises(SqlConnectionError) as caught:
        outlet.push([Record({"id": 1})], update)
    message = str(caught.value)
    assert "password authentication failed for user \"databay\"" in message
    assert f"to {url.render_as_string(hide_password=True)} to insert" in message
    assert SECRET not in message and SECRET not in repr(outlet)


def test_permission_denied(postgres, pg_db, update):
    people(pg_db)
    postgres.create_role("reader", SECRET)
    try:
        reader_url = sa.make_url(pg_db.url).set(username="reader", password=SECRET)
        outlet = SqlOutlet(reader_url.render_as_string(hide_password=False), "people")
        with pytest.raises(SqlOperationError) as caught:
            outlet.push([Record({"id": 1, "name": "x"})], update)
        assert str(caught.value) == (f"SqlOutlet could not insert 1 row(s) into table 'people' at "
                                     f"{reader_url.render_as_string(hide_password=True)}: permission denied for "
                                     f"table people")
        inlet = SqlInlet(reader_url.render_as_string(hide_password=False), "people", cursor="id")
        with pytest.raises(SqlOperationError, match="could not read new rows of table 'people' at .*: permission "
                                                    "denied for table people"):
            inlet.pull(update)
        outlet.on_shutdown()
        inlet.on_shutdown()
    finally:
        pg_db.execute("DROP OWNED BY reader")
        postgres.drop_role("reader")


def test_a_full_disk(sqlite_db, update):
    """SQLite's page limit stands for a full disk or a quota: the push fails whole, clearly."""
    people(sqlite_db)
    outlet = SqlOutlet(sqlite_db.url, "people")

    @sa.event.listens_for(outlet.engine, "connect")
    def limit(dbapi_connection, record):
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages + 1}")

    outlet.push([Record({"id": 1, "name": "fits"})], update)
    with pytest.raises(SqlOperationError, match=r"SqlOutlet could not insert 2000 row\(s\) into table 'people' at "
                                                r"sqlite:///\S+: database or disk is full"):
        outlet.push([Record({"id": n, "name": "x" * 20}) for n in range(2, 2002)], update)
    outlet.on_shutdown()
    assert sqlite_db.rows("people") == [{"id": 1, "name": "fits"}]


def test_a_failed_push_is_retried_by_the_policy(db, caplog):
    class TableCreatedLate(SqlOutlet):
        """The table appears before the third attempt."""

        attempts = 0

        def push(self, records, update):
            self.attempts += 1
            if self.attempts == 3:
                people(db)
            super().push(records, update)

    outlet = TableCreatedLate(db.url, "people")
    link = Link(SequenceInlet(payload=person), outlet, interval=1, retry=RetryPolicy(attempts=5, initial_delay=0.01, jitter=0))
    with caplog.at_level(logging.WARNING, "databay.retry"):
        link.transfer()
    link.on_shutdown()
    assert [r["id"] for r in db.rows("people", "id")] == [0, 1, 2]
    warnings = [r.getMessage() for r in caplog.records if r.name == "databay.retry"]
    assert outlet.attempts == 3 and len(warnings) == 2
    assert "(attempt 1 of 5): SqlTableNotFound: SqlOutlet: table 'people' not found at" in warnings[0]


def test_nothing_is_lost_on_a_staged_link_while_the_table_is_missing(db, tmp_path):
    stage = tmp_path / "s.stage"
    link = Link(SequenceInlet(payload=person), SqlOutlet(db.url, "people", "upsert", "id"), interval=1, stage=stage,
                ignore_exceptions=True)
    link.transfer()
    link.transfer()
    assert [b.batches for b in link.stage.backlog()] == [2]
    people(db)
    link.transfer()  # the two batches waiting, then the third
    link.on_shutdown()
    assert [r["id"] for r in db.rows("people", "id")] == list(range(9))
    with Stage(stage) as opened:
        assert opened.backlog() == [] and opened.dead_letters() == []


def test_the_password_is_registered_as_a_secret():
    SqlOutlet(f"postgresql+psycopg://app:{SECRET}@127.0.0.1:1/shop", "people")
    assert SECRET not in redact(f"password={SECRET}")


def test_the_password_never_appears_in_the_output_of_a_pipeline_run(tmp_path):
    port = free_port()
    (tmp_path / "p.toml").write_text(f'''
[[links]]
tags = ["people"]
interval = "1s"
inlets = [{{ use = "sql", url = "postgresql+psycopg://app:${{APP_PASSWORD}}@127.0.0.1:{port}/shop", table = "people", cursor = "id", timeout = 1 }}]
outlets = [{{ use = "sql", url = "sqlite:///out.db", table = "people" }}]
''')
    databay = Path(sys.executable).parent / "databay"
    result = subprocess.run([str(databay), "run", "p.toml", "--once", "--no-live"], cwd=tmp_path, capture_output=True,
                            text=True, timeout=120, env={"APP_PASSWORD": SECRET, "PATH": "/usr/bin:/bin"})
    output = result.stdout + result.stderr
    assert f"postgresql+psycopg://app:***@127.0.0.1:{port}/shop" in output, output
    assert SECRET not in output


def test_an_unknown_database(postgres, update):
    url = sa.make_url(postgres.url_for("no_such_database"))
    outlet = SqlOutlet(url.render_as_string(hide_password=False), "people")
    with pytest.raises(SqlConnectionError, match=r'SqlOutlet cannot connect to .*:\*\*\*@.*/no_such_database to insert '
                                                 r'1 row\(s\) into table .*database "no_such_database" does not exist'):
        outlet.push([Record({"id": 1})], update)


def test_a_connection_lost_mid_push(postgres, pg_db, update):
    people(pg_db)
    outlet = SqlOutlet(pg_db.url, "people", engine_options={"pool_pre_ping": False})
    outlet.push([Record({"id": 1, "name": "a"})], update)  # the pool keeps its connection
    database = sa.make_url(pg_db.url).database
    postgres.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")
    with pytest.raises(SqlConnectionError, match=r"SqlOutlet lost the connection to \S+ while trying to insert 1 "
                                                 r"row\(s\) into table 'people': "):
        outlet.push([Record({"id": 2, "name": "b"})], update)
    outlet.push([Record({"id": 2, "name": "b"})], update)  # a retry: the pool connects anew
    outlet.on_shutdown()
    pg_db.engine.dispose()  # its connections were cut too
    assert [r["id"] for r in pg_db.rows("people", "id")] == [1, 2]


def test_a_value_the_column_cannot_hold(db, update):
    db.create_table("events", sa.Column("id", sa.Integer, primary_key=True), sa.Column("at", sa.DateTime))
    outlet = SqlOutlet(db.url, "events")
    reason = "SQLite DateTime type only accepts Python datetime" if db.dialect == "sqlite" else "invalid input syntax"
    with pytest.raises(SqlOperationError, match=rf"SqlOutlet could not insert 2 row\(s\) into table 'events' at "
                                                rf"\S+: .*{reason}"):
        outlet.push([Record({"id": 1, "at": None}), Record({"id": 2, "at": "yesterday-ish"})], update)
    outlet.on_shutdown()
    assert db.rows("events") == []
