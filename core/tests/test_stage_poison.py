"""Stages that never drain: poison batches, empty files, bad inlet states (issue 10 items 7, 8)."""

from __future__ import annotations

import dataclasses
import logging
import pickle
import sqlite3

import pytest
from databay import Inlet, Link, Outlet
from databay.errors import StageError, UndecodableBatchError
from databay.redaction import forget_secrets, register_secret
from databay.retry import RetryPolicy
from databay.stage import Stage, codec, register_type
from databay.support.buffers import Buffer


@dataclasses.dataclass
class Reading:
    """A value type a plugin registered, and that is gone after an upgrade."""

    value: int


class Numbers(Inlet):
    """Produces the given payloads, one list per pull, then nothing."""

    def __init__(self, *pulls, **kwargs):
        super().__init__(**kwargs)
        self.pulls = list(pulls)

    def pull(self, update):
        return self.pulls.pop(0) if self.pulls else []


class Keep(Outlet):
    def __init__(self, down: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.down = down
        self.payloads: list = []

    def push(self, records, update):
        if self.down:
            raise ConnectionError("down")
        self.payloads.extend(r.payload for r in records)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "link.stage"


@pytest.fixture
def reading_registered():
    register_type(Reading)
    yield
    codec._forget_type(Reading)


def stage_a_batch_then_break_it(path, outlets, payloads, break_it) -> None:
    """Stage ``payloads`` for ``outlets`` that are down, then ``break_it(path)``."""
    link = Link(Numbers(payloads), [Keep(down=True) for _ in range(outlets)], interval=1, stage=path,
                ignore_exceptions=True)
    link.transfer()
    link.on_shutdown()
    break_it(path)


def corrupt(path) -> None:
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE batches SET records = ?", (b"\x80\x05\x95garbage",))


def test_a_batch_of_a_type_no_longer_registered_is_dead_lettered_and_delivery_goes_on(path, reading_registered,
                                                                                     caplog):
    stage_a_batch_then_break_it(path, 1, [{"r": Reading(1)}], lambda _: codec._forget_type(Reading))
    keep = Keep()
    link = Link(Numbers([{"n": 2}]), keep, interval=1, stage=path)
    stats = link.transfer()  # does not raise: the next batch is delivered
    assert keep.payloads == [{"n": 2}]
    assert stats.dead_lettered == 1
    [letter] = link.stage.dead_letters()
    name = f"{Reading.__module__}:Reading"
    assert letter.outlet == "Keep" and letter.batch_id == link.stage.batch_id(1)
    assert f"batch 1 cannot be decoded: it holds a value of type '{name}', which is not registered" in letter.error
    assert f"{path}" in letter.error
    assert "moved to the dead letters of Keep" in caplog.text
    assert link.stage.pending("Keep") == []
    link.transfer()  # and it stays out of the way
    assert keep.payloads == [{"n": 2}]


def test_replayed_once_its_type_is_back_it_is_delivered(path, reading_registered):
    stage_a_batch_then_break_it(path, 1, [{"r": Reading(1)}], lambda _: codec._forget_type(Reading))
    keep = Keep()
    link = Link(Numbers(), keep, interval=1, stage=path)
    link.transfer()
    register_type(Reading)
    with Stage(path) as operator:  # `databay stage --replay`, from another process
        assert operator.replay() == 1
    link.transfer()
    assert keep.payloads == [{"r": Reading(1)}]


def test_a_corrupt_row_is_dead_lettered_for_every_outlet_and_can_be_purged(path):
    stage_a_batch_then_break_it(path, 2, [{"n": 1}], corrupt)
    with Stage(path) as stage:
        with pytest.raises(UndecodableBatchError,
                           match=r"batch 1 cannot be decoded: it is not a batch of records .*; moved to the dead "
                                 r"letters of Keep, Keep#2"):
            stage.load(1)
        assert [(b.outlet, b.state) for b in stage.backlog()] == [("Keep", "dead"), ("Keep#2", "dead")]
        assert [(b.outlet, b.state) for b in stage.batches()] == [("Keep", "dead"), ("Keep#2", "dead")]
        assert stage.purge() == 2
        assert stage.batches() == []


def test_a_batch_past_the_size_bound_is_dead_lettered(path):
    bomb: list = []
    for _ in range(64):
        bomb = [bomb, bomb]

    def plant(path):
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE batches SET records = ?", (pickle.dumps(([bomb], [{}]), protocol=5),))

    stage_a_batch_then_break_it(path, 1, [{"n": 1}], plant)
    with Stage(path) as stage, pytest.raises(UndecodableBatchError, match="would expand to"):
        stage.load(1)


def test_undecodable_records_a_link_buffer_held_are_dead_lettered(path, caplog):
    link = Link(Numbers([{"n": 1}]), Keep(), interval=1, stage=path, processors=[Buffer(count_threshold=10)])
    link.transfer()
    link.on_shutdown()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT COUNT(*) FROM intake").fetchone() == (1,)
        connection.execute("UPDATE intake SET records = ?", (b"garbage",))
    with Stage(path) as stage:
        assert stage.intake() == []
        [letter] = stage.dead_letters()
        assert letter.outlet == "(intake)" and "records a link buffer held cannot be decoded" in letter.error
    assert "moved to the dead letters" in caplog.text


def test_stored_error_text_is_redacted(path):
    register_secret("s3cr3t-token", "${TOKEN}")
    try:
        outlet = Keep(down=True)
        link = Link(Numbers([{"n": 1}]), outlet, interval=1, stage=path, retry=RetryPolicy(attempts=1))
        outlet.push = lambda records, update: (_ for _ in ()).throw(ConnectionError("refused s3cr3t-token"))
        link.transfer()
        [letter] = link.stage.dead_letters()
    finally:
        forget_secrets()
    assert "s3cr3t-token" not in letter.error + letter.traceback and "${TOKEN}" in letter.error
    with sqlite3.connect(path) as connection:
        [(error, trace)] = connection.execute("SELECT error, traceback FROM deliveries").fetchall()
    assert "s3cr3t-token" not in error + trace


# -- item 8: files that are not what they seem ----------------------------------------------


def test_an_empty_stage_file_is_an_error_and_stays_as_it_was(path):
    path.write_bytes(b"")
    link = Link(Numbers([{"n": 1}]), Keep(), interval=1, stage=path)
    with pytest.raises(StageError, match=rf"stage {path} is an empty file \(0 bytes\), not a stage: .*Nothing "
                                         r"was changed"):
        link.transfer()
    assert path.read_bytes() == b""


def test_an_sqlite_database_of_something_else_is_not_taken_over(path):
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE invoices (id INTEGER)")
    before = path.read_bytes()
    with pytest.raises(StageError, match="is an SQLite database but not a databay stage .*invoices"):
        Stage(path).open()
    assert path.read_bytes() == before


def test_a_new_stage_file_is_made_whole_before_it_has_its_name(path, monkeypatch):
    import databay.stage.store as store

    def crash(*args):
        raise KeyboardInterrupt  # the process dies right after making the file

    monkeypatch.setattr(store.os, "link", crash)
    with pytest.raises(KeyboardInterrupt):
        Stage(path).open()
    assert not path.exists() and list(path.parent.iterdir()) == []  # no empty file, no leftovers
    monkeypatch.undo()
    with Stage(path) as stage:
        assert stage.uid and stage.batches() == []


def test_bad_json_in_a_stored_inlet_state_is_an_error_naming_the_file_and_inlet(path):
    link = Link(Numbers([{"n": 1}]), Keep(), interval=1, stage=path)
    link.transfer()
    link.on_shutdown()
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO inlet_states (inlet, state, updated) VALUES ('Numbers', '{oops', 0)")
    link = Link(Numbers(), Keep(), interval=1, stage=path)
    with pytest.raises(StageError, match=rf"stage {path}: the stored state of inlet 'Numbers' is not JSON "
                                         r"\(Expecting property name .*\)\. Nothing was changed"):
        link.on_start()
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT state FROM inlet_states").fetchall() == [("{oops",)]


def test_logging_of_a_poison_batch_names_it_once(path, caplog):
    stage_a_batch_then_break_it(path, 1, [{"n": 1}], corrupt)
    caplog.clear()
    caplog.set_level(logging.ERROR, "databay")
    Link(Numbers(), Keep(), interval=1, stage=path).transfer()
    assert sum(r.getMessage().count("batch 1 cannot be decoded") for r in caplog.records) == 1
