"""The SQLite backend's own matters: Stage(path), retention, schema upgrades and converting
stages of the previous format; and the pipeline keys that choose and tune a stage."""

from __future__ import annotations

import datetime
import pickle
import sqlite3
import time

import pytest
from databay import Inlet, Link, Outlet, Record
from databay.errors import StageError
from databay.stage import SqliteStage, Stage, codec

PIPELINE = """
[[links]]
tags = ["t"]
interval = "1h"
stage = {stage}
{extra}
inlets = ["random_int"]
outlets = ["null"]
"""


class Numbers(Inlet):
    def pull(self, update):
        return [{"n": 1}]


class Gone:
    """A value type nobody registers."""


class Keep(Outlet):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.payloads: list = []

    def push(self, records, update):
        self.payloads.extend(r.payload for r in records)


def test_stage_of_a_path_is_the_sqlite_stage(tmp_path):
    stage = Stage(tmp_path / "a.stage", fsync=True, retention=datetime.timedelta(minutes=2))
    assert type(stage) is SqliteStage and isinstance(stage, Stage)
    assert (stage.fsync, stage.retention, stage.location) == (True, 120.0, str(tmp_path / "a.stage"))
    assert stage.path == tmp_path / "a.stage" and not stage.exists()
    link = Link(Numbers(), Keep(), interval=1, stage=tmp_path / "b.stage")
    assert type(link.stage) is SqliteStage


@pytest.mark.parametrize("retention", [-1, float("inf"), "1h", True])
def test_retention_is_seconds_or_a_timedelta(tmp_path, retention):
    with pytest.raises(ValueError, match="stage retention must be"):
        SqliteStage(tmp_path / "a.stage", retention=retention)


def test_with_retention_delivered_batches_are_kept_then_expire(tmp_path):
    stage = SqliteStage(tmp_path / "a.stage", retention=0.3)
    keep = Keep()
    link = Link(Numbers(), keep, interval=1, stage=stage)
    link.transfer()
    link.transfer()
    assert [(b.state, b.outlet) for b in stage.batches()] == [("delivered", None)] * 2
    assert [r.payload for r in stage.read(1)] == [{"n": 1}]
    link.on_shutdown()
    time.sleep(0.45)
    link.transfer()  # its stage opens for the link: what expired goes
    assert [b.batch for b in stage.batches()] == [3]


def test_a_stage_opened_by_a_reader_keeps_what_the_link_keeps(tmp_path):
    stage = SqliteStage(tmp_path / "a.stage", retention=3600)
    link = Link(Numbers(), Keep(), interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    with SqliteStage(tmp_path / "a.stage") as reader:  # `databay stage` knows no retention
        assert len(reader.batches(["delivered"])) == 1
    with SqliteStage(tmp_path / "a.stage") as same:
        assert len(same.batches(["delivered"])) == 1
    link = Link(Numbers(), Keep(), interval=1, stage=SqliteStage(tmp_path / "a.stage"))
    link.on_start()  # the link itself without retention: nothing delivered is kept
    assert link.stage.batches(["delivered"]) == []
    link.on_shutdown()


def schema_1(path, codec_name: str | None) -> None:
    """A stage as the previous databay made it, with one batch in ``codec_name`` (or none)."""
    with sqlite3.connect(path) as connection:
        connection.executescript("""
            CREATE TABLE stage_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL,
                transfer TEXT NOT NULL, size INTEGER NOT NULL, codec TEXT NOT NULL, records BLOB NOT NULL);
            CREATE TABLE deliveries (outlet TEXT NOT NULL, batch INTEGER NOT NULL, state TEXT NOT NULL
                DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0, failed_at REAL, error TEXT,
                traceback TEXT, PRIMARY KEY (outlet, batch)) WITHOUT ROWID;
            CREATE TABLE inlet_states (inlet TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
            CREATE TABLE intake (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, codec TEXT NOT NULL,
                records BLOB NOT NULL);
            INSERT INTO stage_info VALUES ('schema', '1'), ('uid', 'aaaaaaaaaaaa'), ('created', '0');
        """)
        if codec_name is not None:
            data = pickle.dumps(([{"when": datetime.date(2024, 1, 2)}], [{"k": "v"}]), protocol=5)
            connection.execute("INSERT INTO batches (created, transfer, size, codec, records) VALUES (0, 't.1', 1, ?, ?)",
                               (codec_name, data))
            connection.execute("INSERT INTO deliveries (outlet, batch) VALUES ('Keep', 1)")


def schema_of(path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT value FROM stage_info WHERE key = 'schema'").fetchone()[0]


def test_a_stage_of_schema_1_without_old_batches_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.stage"
    schema_1(path, None)
    with SqliteStage(path) as stage:
        assert stage.uid == "aaaaaaaaaaaa" and stage.batches() == []
    assert schema_of(path) == "2"


def test_a_batch_of_schema_1_is_delivered_with_the_time_and_transfer_it_was_stored_with(tmp_path):
    """Every stage kept each batch's commit time and transfer: its stamps need no migration."""
    path = tmp_path / "old.stage"
    schema_1(path, None)
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO batches (created, transfer, size, codec, records) VALUES "
                           "(1714564800.123456789, 'old.4', 1, ?, ?)", (codec.CODEC, codec.encode_records([Record(7)])))
        connection.execute("INSERT INTO deliveries (outlet, batch) VALUES ('Stamps', 1)")
    stamps = []

    class Stamps(Keep):
        def push(self, records, update):
            stamps.extend((r.metadata[Stage.BATCH_TIME], r.metadata[Stage.BATCH_UPDATE]) for r in records)

    link = Link(Numbers(), Stamps(), interval=1, tags=["new"], stage=path)
    link.transfer()
    link.on_shutdown()
    assert schema_of(path) == "2"
    assert stamps[0] == (datetime.datetime(2024, 5, 1, 12, 0, 0, 123457, datetime.UTC), "old.4")
    assert stamps[1][1] == "new.0" and stamps[1][0] > stamps[0][0]


def test_old_batches_are_refused_until_converted_then_delivered(tmp_path):
    path = tmp_path / "old.stage"
    schema_1(path, "pickle5")
    with pytest.raises(StageError, match=r"holds 1 batch\(es\) written by an earlier databay .* Nothing was changed"):
        SqliteStage(path).open()
    assert schema_of(path) == "1"
    assert SqliteStage(path).migrate() == (1, 0)
    keep = Keep()
    Link(Numbers(), keep, interval=1, stage=path).transfer()
    assert keep.payloads == [{"when": datetime.date(2024, 1, 2)}, {"n": 1}]


def test_an_old_batch_that_cannot_be_converted_becomes_a_dead_letter_when_delivered(tmp_path):
    path = tmp_path / "old.stage"
    schema_1(path, "pickle5")
    with sqlite3.connect(path) as connection:
        # names a class no stage allows: an old file tampered with, or a type no longer registered
        connection.execute("UPDATE batches SET records = ?", (pickle.dumps(([Gone()], [{}]), protocol=5),))
    assert SqliteStage(path).migrate() == (0, 1)
    keep = Keep()
    link = Link(Numbers(), keep, interval=1, stage=path)
    link.transfer()
    assert keep.payloads == [{"n": 1}]
    [letter] = link.stage.dead_letters()
    assert "written by an earlier databay (format 'pickle5') and could not be converted" in letter.error


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "new.stage"
    SqliteStage(path).open().close()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE stage_info SET value = '99' WHERE key = 'schema'")
    with pytest.raises(StageError, match="has schema 99, made by a newer databay"):
        SqliteStage(path).open()


# -- pipeline keys ---------------------------------------------------------------------------


def load(tmp_path, stage: str, extra: str = ""):
    from databay.pipeline import load_pipeline

    (tmp_path / "p.toml").write_text(PIPELINE.format(stage=stage, extra=extra))
    return load_pipeline(tmp_path / "p.toml")


def test_a_pipeline_chooses_the_backend_and_its_arguments(tmp_path):
    path = tmp_path / "s.stage"
    pipeline = load(tmp_path, f'{{ use = "sqlite", path = "{path}", fsync = true }}', 'stage_retention = "2h"')
    [link] = pipeline.links
    assert type(link.stage) is SqliteStage and link.stage.fsync and link.stage.path == path
    assert link.stage.retention == 7200


def test_stage_retention_applies_to_a_path_stage(tmp_path):
    [link] = load(tmp_path, f'"{tmp_path / "s.stage"}"', "stage_retention = 90").links
    assert link.stage.retention == 90


@pytest.mark.parametrize("stage, extra, problem", [
    ('{ use = "nosuch" }', "", "links[0].stage (nosuch): unknown stage 'nosuch'; registered stages: sqlite"),
    ('{ use = "sqlite" }', "", "links[0].stage (sqlite): missing required argument 'path'"),
    ('{ use = "sqlite", path = "a", colour = 1 }', "", "links[0].stage (sqlite): unknown argument 'colour'"),
    ('"a.stage"', 'stage_retention = "soon"', "links[0]: argument 'stage_retention': 'soon' is not an interval"),
    ('"a.stage"', "stage_retention = 0", "links[0]: argument 'stage_retention': an interval must be positive"),
    ("3", "", "links[0]: argument 'stage': the path of the link's stage file"),
])
def test_stage_problems_are_reported_with_their_place(tmp_path, stage, extra, problem):
    from databay.pipeline import PipelineError

    with pytest.raises(PipelineError) as raised:
        load(tmp_path, stage, extra)
    assert any(str(p).startswith(problem) for p in raised.value.problems), raised.value.problems


def test_stage_retention_needs_a_stage(tmp_path):
    from databay.pipeline import PipelineError, load_pipeline

    (tmp_path / "p.toml").write_text('[[links]]\ninterval = 1\nstage_retention = "1d"\ninlets = ["random_int"]\n'
                                     'outlets = ["null"]\n')
    with pytest.raises(PipelineError) as raised:
        load_pipeline(tmp_path / "p.toml")
    assert [str(p) for p in raised.value.problems] == [
        "links[0]: 'stage_retention' is how long the link's stage keeps delivered batches: add a stage (line 1)"]


def test_two_links_cannot_share_an_sqlite_stage_however_it_is_written(tmp_path):
    from databay.pipeline import PipelineError, load_pipeline

    link = '[[links]]\ninterval = 1\nstage = {stage}\ninlets = ["random_int"]\noutlets = ["null"]\n'
    (tmp_path / "p.toml").write_text(link.format(stage='"s.stage"')
                                     + link.format(stage='{ use = "sqlite", path = "s.stage" }'))
    with pytest.raises(PipelineError, match="same stage as links"):
        load_pipeline(tmp_path / "p.toml")
