"""Staged links: commit before delivery, acknowledgements, redelivery in order, dead letters,
stable identities, inlet states and buffers kept in the stage."""

from __future__ import annotations

import datetime
import decimal
import sqlite3
import uuid

import pytest
from databay import Inlet, Link, Outlet, Record, hookimpl
from databay.errors import StageError, StageSerializationError
from databay.observers import add_observer, remove_observer
from databay.retry import RetryPolicy
from databay.stage import Stage, codec, register_type
from databay.support.buffers import Buffer


class SequenceInlet(Inlet):
    """Produces ``per_pull`` sequence numbers per pull and remembers the next one."""

    def __init__(self, per_pull: int = 3, **kwargs):
        super().__init__(**kwargs)
        self.next = 0
        self.per_pull = per_pull
        self.pulls = 0

    def pull(self, update):
        self.pulls += 1
        start, self.next = self.next, self.next + self.per_pull
        return [{"seq": n} for n in range(start, self.next)]

    def get_state(self):
        return {"next": self.next}

    def set_state(self, state):
        self.next = state["next"]


class ListInlet(Inlet):
    """Produces the given payloads once."""

    def __init__(self, payloads, **kwargs):
        super().__init__(**kwargs)
        self.payloads = list(payloads)

    def pull(self, update):
        payloads, self.payloads = self.payloads, []
        return payloads


class CollectOutlet(Outlet):
    """Keeps what it received; fails while ``failures`` is positive (counting down)."""

    def __init__(self, failures: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.records: list[Record] = []
        self.failures = failures
        self.attempts = 0

    def push(self, records, update):
        self.attempts += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("outlet down")
        self.records.extend(records)

    @property
    def seqs(self) -> list[int]:
        return [r.payload["seq"] for r in self.records]


@pytest.fixture
def stage_path(tmp_path):
    return tmp_path / "state" / "link.stage"


def staged(inlets, outlets, path, **kwargs) -> Link:
    return Link(inlets, outlets, interval=1, stage=path, **kwargs)


def rows(path, query):
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


def test_a_staged_transfer_delivers_and_leaves_the_stage_empty(stage_path):
    outlet = CollectOutlet()
    link = staged(SequenceInlet(), outlet, stage_path)
    stats = link.transfer()
    link.transfer()
    assert outlet.seqs == [0, 1, 2, 3, 4, 5]
    assert (stats.records_pulled, stats.records_pushed, stats.dead_lettered) == (3, 3, 0)
    assert link.stage.backlog() == []
    link.on_shutdown()  # closing deletes what was acknowledged
    assert rows(stage_path, "SELECT COUNT(*) FROM batches") == [(0,)]
    assert rows(stage_path, "SELECT inlet, state FROM inlet_states") == [("SequenceInlet", '{"next": 6}')]


def test_records_carry_stable_ids_that_survive_redelivery(stage_path):
    outlet = CollectOutlet(failures=1)
    link = staged(SequenceInlet(), outlet, stage_path)
    with pytest.raises(ConnectionError):
        link.transfer()
    uid = link.stage.uid
    link.transfer()  # batch 1 again, then batch 2
    ids = [(r.metadata[Stage.BATCH_ID], r.metadata[Stage.RECORD_ID]) for r in outlet.records]
    assert ids == [(f"{uid}:1", f"{uid}:1:0"), (f"{uid}:1", f"{uid}:1:1"), (f"{uid}:1", f"{uid}:1:2"),
                   (f"{uid}:2", f"{uid}:2:0"), (f"{uid}:2", f"{uid}:2:1"), (f"{uid}:2", f"{uid}:2:2")]
    assert outlet.seqs == [0, 1, 2, 3, 4, 5]


def test_each_stage_file_has_its_own_uid(tmp_path):
    first = Stage(tmp_path / "a.stage").open()
    second = Stage(tmp_path / "b.stage").open()
    assert first.uid and second.uid and first.uid != second.uid
    first.close()
    assert Stage(tmp_path / "a.stage").open().uid == first.uid


def test_a_failed_push_stays_pending_and_comes_first_next_time(stage_path):
    outlet = CollectOutlet(failures=2)
    link = staged(SequenceInlet(), outlet, stage_path)
    for _ in range(2):
        with pytest.raises(ConnectionError, match="outlet down"):
            link.transfer()
    [backlog] = link.stage.backlog()
    assert (backlog.outlet, backlog.state, backlog.batches, backlog.records) == ("CollectOutlet", "pending", 2, 6)
    link.transfer()
    assert outlet.seqs == list(range(9))  # the two old batches in order, then the new one
    assert link.stage.backlog() == []


def test_ignore_exceptions_logs_a_failed_push_and_keeps_the_batch(stage_path, caplog):
    outlet = CollectOutlet(failures=1)
    link = staged(SequenceInlet(), outlet, stage_path, ignore_exceptions=True)
    link.transfer()
    assert "outlet down" in caplog.text
    link.transfer()
    assert outlet.seqs == list(range(6))


def test_after_a_restart_outlets_get_their_unacknowledged_batches_first(stage_path):
    inlet, outlet = SequenceInlet(), CollectOutlet(failures=5)
    link = staged(inlet, outlet, stage_path, ignore_exceptions=True)
    for _ in range(3):
        link.transfer()
    link.on_shutdown()
    # A new process: new objects, the same stage file.
    inlet2, outlet2 = SequenceInlet(), CollectOutlet()
    link2 = staged(inlet2, outlet2, stage_path)
    link2.on_start()
    assert inlet2.next == 9  # the position committed with the records
    link2.transfer()
    assert outlet2.seqs == list(range(12))


def test_metadata_stored_once_per_batch_comes_back_as_every_records_own(stage_path):
    # The one-trip path (one sync inlet and outlet, nothing to catch up on) stores the
    # metadata every record shares once: redelivered after a restart, each record gets
    # its own copy, equal to what it had.
    metadata = {"source": "sensors", "tags": ["a", "b"]}
    inlet, outlet = SequenceInlet(metadata=metadata), CollectOutlet()
    link = staged(inlet, outlet, stage_path, ignore_exceptions=True)
    link.transfer()  # delivered: from now on the outlet has nothing to catch up on
    outlet.failures = 1
    link.transfer()  # the one-trip path; the push fails and the batch stays staged
    link.on_shutdown()
    assert outlet.seqs == [0, 1, 2]
    outlet2 = CollectOutlet()
    link2 = staged(SequenceInlet(metadata=metadata), outlet2, stage_path)
    link2.on_start()
    link2.transfer()
    redelivered = outlet2.records[:3]
    assert [r.payload["seq"] for r in redelivered] == [3, 4, 5]
    for record in redelivered:
        assert {k: v for k, v in record.metadata.items() if not k.startswith("Stage.")} == {
            **metadata, "__inlet__": repr(inlet)}
    redelivered[0].metadata["tags"].append("changed")
    redelivered[0].metadata["extra"] = 1
    assert redelivered[1].metadata["tags"] == ["a", "b"] and "extra" not in redelivered[1].metadata


def test_codec_round_trips_both_metadata_forms():
    payloads = [{"n": 1}, {"n": 2}]
    shared = {"k": [1, 2], "t": (1, True)}
    decoded_payloads, metadata = codec.decode(codec.encode(payloads, shared))
    assert decoded_payloads == payloads and metadata == [shared, shared]
    assert metadata[0] is not metadata[1] and metadata[0]["k"] is not metadata[1]["k"]
    assert type(metadata[0]["t"][1]) is bool
    per_record = [{"a": 1}, {"a": True}]
    _, metadata = codec.decode(codec.encode(payloads, per_record))
    assert [type(m["a"]) for m in metadata] == [int, bool]


def test_each_outlet_acknowledges_for_itself(stage_path):
    good, bad = CollectOutlet(), CollectOutlet(failures=1)
    link = staged(SequenceInlet(), [good, bad], stage_path)
    with pytest.raises(ConnectionError):
        link.transfer()
    assert [(b.outlet, b.batches) for b in link.stage.backlog()] == [("CollectOutlet#2", 1)]
    link.transfer()
    assert good.seqs == list(range(6))
    assert bad.seqs == list(range(6))
    # copy_records: the outlets never share a record or payload
    assert all(a is not b and a.payload is not b.payload for a, b in zip(good.records, bad.records))
    assert link.stage.backlog() == []


def test_groupers_make_one_batch_each_and_each_is_redelivered_whole(stage_path):
    outlet = CollectOutlet(failures=1)

    def by_parity(batches):
        return [[r for batch in batches for r in batch if r.payload["seq"] % 2 == parity] for parity in (0, 1)]

    link = staged(SequenceInlet(per_pull=4), outlet, stage_path, groupers=by_parity, ignore_exceptions=True)
    link.transfer()  # the first batch fails, the second is never tried (order is kept)
    assert [(b.batches, b.records) for b in link.stage.backlog()] == [(2, 4)]
    link.transfer()
    assert outlet.seqs == [0, 2, 1, 3, 4, 6, 5, 7]


class Opaque:
    """A value type the stage does not know until it is registered."""


def test_a_record_the_stage_cannot_store_fails_the_transfer_and_is_kept(stage_path):
    inlet = ListInlet([{"ok": 1}, {"when": Opaque()}], metadata={"source": "test"})
    outlet = CollectOutlet()
    link = staged(inlet, outlet, stage_path)
    with pytest.raises(StageSerializationError,
                       match=r"record 1 \(from ListInlet\(metadata=\{'source': 'test'\}\)\) cannot be staged: "
                             r"payload\['when'\] is a .*\.Opaque; a stage stores None"):
        link.transfer()
    assert outlet.records == []
    with pytest.raises(StageSerializationError):
        link.transfer()  # the same records again: nothing new is pulled meanwhile
    register_type(Opaque)
    try:
        link.transfer()
    finally:
        codec._forget_type(Opaque)
    assert [sorted(r.payload) for r in outlet.records] == [["ok"], ["when"]]


def test_only_importable_classes_can_be_registered():
    class Local:
        pass

    with pytest.raises(ValueError, match="is defined inside a function"):
        register_type(Local)


def test_payloads_and_metadata_round_trip_exactly_through_the_stage(stage_path):
    tz = datetime.timezone(datetime.timedelta(hours=2))
    payloads = [
        {"tuple": (1, "a", (2.5, None)), 3: "int key", (1, 2): "tuple key", "bytes": b"\x00\xff",
         "set": {1, 2}, "frozen": frozenset({"x"}), "nan": float("nan"), "neg0": -0.0, "big": 2**80,
         "when": datetime.datetime(2024, 5, 1, 12, 30, tzinfo=tz), "day": datetime.date(2024, 5, 1),
         "dec": decimal.Decimal("1.10"), "id": uuid.UUID(int=7), "text": "caf\u00e9 \ud800"},
        ["a", "list", ["nested"]],
        "a string",
        None,
    ]
    inlet = ListInlet(payloads)
    failing = CollectOutlet(failures=1)
    link = staged(inlet, failing, stage_path, ignore_exceptions=True)
    link.transfer()
    link.on_shutdown()
    received = CollectOutlet()
    link2 = staged(ListInlet([]), received, stage_path)
    link2.transfer()
    got = [r.payload for r in received.records]
    first = got[0]
    assert type(first["tuple"]) is tuple and first["tuple"] == (1, "a", (2.5, None))
    assert first[3] == "int key" and first[(1, 2)] == "tuple key"
    assert first["bytes"] == b"\x00\xff" and first["set"] == {1, 2} and first["frozen"] == frozenset({"x"})
    assert first["nan"] != first["nan"] and str(first["neg0"]) == "-0.0" and first["big"] == 2**80
    assert first["when"] == payloads[0]["when"] and first["when"].utcoffset() == datetime.timedelta(hours=2)
    assert type(first["day"]) is datetime.date and str(first["dec"]) == "1.10" and first["id"] == uuid.UUID(int=7)
    assert first["text"] == "caf\u00e9 \ud800"
    assert got[1:] == payloads[1:]
    assert received.records[0].metadata["__inlet__"] == "ListInlet()"


def test_a_tampered_stage_cannot_make_arbitrary_objects(stage_path):
    import pickle

    class Evil:
        def __reduce__(self):
            import os

            return os.system, ("echo pwned",)

    link = staged(ListInlet([{"a": 1}]), CollectOutlet(failures=1), stage_path, ignore_exceptions=True)
    link.transfer()
    link.on_shutdown()
    evil = pickle.dumps(([{"a": Evil()}], [{}]), protocol=5)
    with sqlite3.connect(stage_path) as connection:
        connection.execute("UPDATE batches SET records = ?", (evil,))
    received = CollectOutlet()
    link2 = staged(ListInlet([{"b": 2}]), received, stage_path)
    link2.transfer()  # the tampered batch is dead-lettered; delivery goes on
    assert [r.payload for r in received.records] == [{"b": 2}]
    [letter] = link2.stage.dead_letters()
    assert "batch 1 cannot be decoded: it is not a batch of records (UnpicklingError: it names posix.system, " \
           "and a batch names no code)" in letter.error


def test_inlet_state_is_restored_before_the_first_pull(stage_path):
    link = staged(SequenceInlet(), CollectOutlet(), stage_path)
    link.transfer()
    link.transfer()
    link.on_shutdown()
    inlet = SequenceInlet()
    outlet = CollectOutlet()
    staged(inlet, outlet, stage_path).transfer()  # without on_start: restored at the first transfer
    assert outlet.seqs == [6, 7, 8]


def test_an_inlet_state_that_is_not_json_is_an_error_and_keeps_the_previous_one(stage_path):
    class BadState(SequenceInlet):
        def get_state(self):
            return {"next": {1, 2}}

    outlet = CollectOutlet()
    link = staged(BadState(), outlet, stage_path)
    with pytest.raises(StageError, match=r"get_state\(\) returned \{'next': \{1, 2\}\}, which is not JSON data"):
        link.transfer()
    assert outlet.seqs == [0, 1, 2]  # the records were staged and delivered all the same
    assert link.stage.inlet_states() == {}


def test_an_inlet_with_a_state_but_no_set_state_is_told_so(stage_path):
    class HalfDone(Inlet):
        def pull(self, update):
            return 1

        def get_state(self):
            return 1

    first = staged(HalfDone(), CollectOutlet(), stage_path)
    first.transfer()
    first.on_shutdown()
    with pytest.raises(NotImplementedError, match="HalfDone returns a state from get_state"):
        staged(HalfDone(), CollectOutlet(), stage_path).transfer()


def test_a_link_dropped_without_shutdown_frees_its_stage(stage_path):
    staged(SequenceInlet(), CollectOutlet(), stage_path).transfer()
    staged(SequenceInlet(), CollectOutlet(), stage_path).transfer()


def test_a_stage_serves_one_link_at_a_time(stage_path):
    first = staged(SequenceInlet(), CollectOutlet(), stage_path)
    first.transfer()
    second = staged(SequenceInlet(), CollectOutlet(), stage_path)
    with pytest.raises(StageError, match=r"is in use by process \d+: a stage serves one running link at a time"):
        second.transfer()
    first.on_shutdown()
    second.transfer()


def test_a_stage_object_can_be_given(stage_path):
    stage = Stage(stage_path, fsync=True)
    link = staged(SequenceInlet(), CollectOutlet(), stage)
    assert link.stage is stage
    link.transfer()
    assert rows(stage_path, "PRAGMA journal_mode") == [("wal",)]


def test_an_unstaged_link_has_no_stage():
    assert Link(SequenceInlet(), CollectOutlet(), interval=1).stage is None


# -- retries and dead letters ----------------------------------------------------------


FAST = RetryPolicy(attempts=3, initial_delay=0.001, max_delay=0.001)


class DeadLetters:
    def __init__(self):
        self.seen = []

    @hookimpl
    def databay_batch_dead_lettered(self, link, update, outlet, dead_letter, exception):
        self.seen.append((outlet, dead_letter, exception))


@pytest.fixture
def dead_letters():
    observer = DeadLetters()
    add_observer(observer)
    yield observer
    remove_observer(observer)


def test_a_batch_failing_every_attempt_is_dead_lettered_and_the_link_goes_on(stage_path, dead_letters):
    outlet = CollectOutlet(failures=3)
    link = staged(SequenceInlet(), outlet, stage_path, retry=FAST)
    stats = link.transfer()  # 3 attempts fail: dead-lettered, no exception
    assert (stats.dead_lettered, outlet.attempts) == (1, 3)
    link.transfer()
    assert outlet.seqs == [3, 4, 5]
    [letter] = link.stage.dead_letters()
    assert (letter.outlet, letter.batch_id, letter.size, letter.attempts) == (
        "CollectOutlet", f"{link.stage.uid}:1", 3, 3)
    assert letter.error == "ConnectionError: outlet down"
    assert "Traceback" in letter.traceback and "raise ConnectionError" in letter.traceback
    [(seen_outlet, seen_letter, exception)] = dead_letters.seen
    assert seen_outlet is outlet and seen_letter == letter and isinstance(exception, ConnectionError)
    [dead] = link.stage.backlog()
    assert (dead.state, dead.batches, dead.records, dead.last_error) == ("dead", 1, 3, "ConnectionError: outlet down")


def test_replayed_dead_letters_are_delivered_at_the_next_transfer(stage_path):
    outlet = CollectOutlet(failures=3)
    link = staged(SequenceInlet(), outlet, stage_path, retry=FAST)
    link.transfer()
    link.transfer()
    # as `databay stage --replay` does it, from another connection
    with Stage(stage_path) as other:
        assert other.replay() == 1
    link.transfer()
    assert outlet.seqs == [3, 4, 5, 0, 1, 2, 6, 7, 8]
    assert link.stage.backlog() == []


def test_dead_letters_replayed_through_the_links_own_stage_are_delivered_next(stage_path):
    outlet = CollectOutlet(failures=3)
    link = staged(SequenceInlet(), outlet, stage_path, retry=FAST)
    link.transfer()
    link.transfer()
    assert link.stage.replay() == 1  # the same connection the link delivers through
    link.transfer()
    assert outlet.seqs == [3, 4, 5, 0, 1, 2, 6, 7, 8]
    assert link.stage.backlog() == []


def test_purge_deletes_dead_letters(stage_path):
    link = staged(SequenceInlet(), CollectOutlet(failures=3), stage_path, retry=FAST)
    link.transfer()
    with Stage(stage_path) as other:
        assert other.purge() == 1
        assert other.backlog() == []
        assert rows(stage_path, "SELECT COUNT(*) FROM batches") == [(0,)]


def test_exceptions_the_policy_does_not_retry_are_dead_lettered_at_once(stage_path):
    outlet = CollectOutlet(failures=1)
    link = staged(SequenceInlet(), outlet, stage_path, retry=RetryPolicy(attempts=5, retry_on=TimeoutError))
    assert link.transfer().dead_lettered == 1
    assert outlet.attempts == 1


def test_the_outlet_policy_wins_over_the_link_policy(stage_path):
    outlet = CollectOutlet(failures=3, retry=RetryPolicy(attempts=4, initial_delay=0, max_delay=0))
    link = staged(SequenceInlet(), outlet, stage_path, retry=RetryPolicy(attempts=1))
    assert link.transfer().dead_lettered == 0
    assert outlet.seqs == [0, 1, 2] and outlet.attempts == 4


# -- buffers ---------------------------------------------------------------------------


def test_an_outlet_buffer_keeps_its_records_in_the_stage(stage_path):
    outlet = CollectOutlet(processors=Buffer(count_threshold=7))
    link = staged(SequenceInlet(), outlet, stage_path)
    link.transfer()
    link.transfer()  # the buffer holds 6 records: nothing pushed, nothing acknowledged
    assert outlet.records == []
    assert [(b.state, b.batches) for b in link.stage.backlog()] == [("pending", 2)]
    link.on_shutdown()
    # Crash and restart: a new buffer is refilled from the stage.
    outlet2 = CollectOutlet(processors=Buffer(count_threshold=7))
    link2 = staged(SequenceInlet(), outlet2, stage_path)
    link2.transfer()  # 6 again + 3 new: released
    assert outlet2.seqs == list(range(9))
    assert link2.stage.backlog() == []


def test_a_held_batch_is_not_delivered_twice_within_a_run(stage_path):
    buffer = Buffer(count_threshold=8)  # released at the 9th record
    outlet = CollectOutlet(processors=buffer)
    link = staged(SequenceInlet(), outlet, stage_path)
    for _ in range(3):
        link.transfer()
    assert outlet.seqs == list(range(9))
    assert link.stage.backlog() == []


def test_a_timed_outlet_buffer_releases_on_a_transfer_with_nothing_new(stage_path):
    buffer = Buffer(time_threshold=0.05)
    outlet = CollectOutlet(processors=buffer)
    inlet = ListInlet([{"seq": 0}])
    link = staged(inlet, outlet, stage_path)
    link.transfer()
    assert outlet.records == []
    import time

    time.sleep(0.06)
    link.transfer()
    assert outlet.seqs == [0]
    assert link.stage.backlog() == []


def test_a_link_buffer_keeps_its_records_in_the_stage(stage_path):
    outlet = CollectOutlet()
    link = staged(SequenceInlet(), outlet, stage_path, processors=Buffer(count_threshold=7))
    link.transfer()
    link.transfer()
    assert outlet.records == []
    assert rows(stage_path, "SELECT COUNT(*) FROM intake") == [(2,)]
    link.on_shutdown()
    inlet2, outlet2 = SequenceInlet(), CollectOutlet()
    link2 = staged(inlet2, outlet2, stage_path, processors=Buffer(count_threshold=7))
    link2.transfer()
    assert inlet2.pulls == 1 and outlet2.seqs == list(range(9))
    assert rows(stage_path, "SELECT COUNT(*) FROM intake") == [(0,)]


def test_a_failing_outlet_behind_a_buffer_gets_the_whole_release_again(stage_path):
    outlet = CollectOutlet(failures=1, processors=Buffer(count_threshold=5))
    link = staged(SequenceInlet(), outlet, stage_path, ignore_exceptions=True)
    link.transfer()
    link.transfer()  # released 6: the push fails, both batches stay pending
    assert outlet.records == []
    link.transfer()  # 6 redelivered into the buffer (released), then 3 new (held)
    assert outlet.seqs == list(range(6))
    link.transfer()
    assert outlet.seqs == list(range(12))


def test_forget_deletes_what_an_outlet_no_longer_in_the_link_was_owed(stage_path):
    gone = CollectOutlet(failures=1)
    link = staged(SequenceInlet(), [CollectOutlet(), gone], stage_path, ignore_exceptions=True)
    link.transfer()
    link.on_shutdown()
    with Stage(stage_path) as stage:
        assert [(b.outlet, b.batches) for b in stage.backlog()] == [("CollectOutlet#2", 1)]
        assert stage.forget("CollectOutlet#2") == 1
        assert stage.backlog() == []
    assert rows(stage_path, "SELECT COUNT(*) FROM batches") == [(0,)]
