"""Stamps of staged batches: records delivered from a stage carry when and by which transfer
their batch was committed (``Stage.BATCH_TIME``, ``Stage.BATCH_UPDATE``), the same at the
first delivery, at every redelivery and in another process."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
import textwrap

import pytest
from databay import Inlet, Link, Outlet, Record
from databay.errors import StageError
from databay.retry import RetryPolicy
from databay.stage import SqliteStage, Stage


class Numbers(Inlet):
    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.next = 0

    def pull(self, update):
        start, self.next = self.next, self.next + 2
        return list(range(start, self.next))


class Stamps(Outlet):
    """Keeps each push's ``(update, batch id, batch time, batch update)``; fails ``failures`` times."""

    def __init__(self, failures: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.failures = failures
        self.pushes: list[tuple[str, str, datetime.datetime, str]] = []

    def push(self, records, update):
        stamps = {(r.metadata[Stage.BATCH_ID], r.metadata[Stage.BATCH_TIME], r.metadata[Stage.BATCH_UPDATE])
                  for r in records}
        assert len(stamps) == 1, "the records of a batch share its stamps"
        self.pushes.append((str(update), *stamps.pop()))
        if self.failures:
            self.failures -= 1
            raise ConnectionError("down")


def by_batch(pushes) -> dict[str, set[tuple[datetime.datetime, str]]]:
    stamps: dict[str, set[tuple[datetime.datetime, str]]] = {}
    for _, batch_id, when, transfer in pushes:
        stamps.setdefault(batch_id, set()).add((when, transfer))
    return stamps


@pytest.mark.parametrize("outlets", [1, 2], ids=["one outlet", "two outlets"])
def test_a_redelivered_batch_carries_the_time_and_transfer_of_its_commit(tmp_path, outlets):
    """The first push fails; the batch comes again with the next transfer, whose update and
    time differ: its stamps do not (one outlet takes the link's one-trip path, two the other)."""
    failing, *others = [Stamps(failures=1)] + [Stamps() for _ in range(outlets - 1)]
    link = Link(Numbers(), [failing, *others], interval=1, tags=["nums"], stage=tmp_path / "s.stage")
    before = datetime.datetime.now(datetime.UTC)
    with pytest.raises(ConnectionError):
        link.transfer()
    link.transfer()
    link.on_shutdown()
    uid = link.stage.uid
    assert [(update, batch_id) for update, batch_id, _, _ in failing.pushes] == [
        ("nums.0", f"{uid}:1"), ("nums.1", f"{uid}:1"), ("nums.1", f"{uid}:2")]
    stamps = by_batch(failing.pushes)
    assert [len(seen) for seen in stamps.values()] == [1, 1], "the same stamps at every delivery"
    [(first_time, first_update)], [(second_time, second_update)] = stamps.values()
    assert (first_update, second_update) == ("nums.0", "nums.1")
    assert first_time.tzinfo is datetime.UTC and before <= first_time < second_time
    for other in others:
        assert by_batch(other.pushes) == stamps


def test_a_batch_dead_lettered_and_replayed_keeps_its_stamps(tmp_path):
    outlet = Stamps(failures=2)
    link = Link(Numbers(), outlet, interval=1, tags=["nums"], stage=tmp_path / "s.stage",
                retry=RetryPolicy(attempts=2, initial_delay=0))
    link.transfer()  # both attempts fail: dead-lettered
    with SqliteStage(tmp_path / "s.stage") as operator:  # databay stage --replay
        assert operator.replay() == 1
    link.transfer()
    link.on_shutdown()
    stamps = by_batch(outlet.pushes)
    assert [len(seen) for seen in stamps.values()] == [1, 1]
    assert [update for update, *_ in outlet.pushes] == ["nums.0", "nums.0", "nums.1", "nums.1"]


def test_another_process_reads_the_same_stamps(tmp_path):
    """A batch left pending is read by a new process (what a restart after SIGKILL does):
    the same time, to the microsecond, and the same transfer."""
    outlet = Stamps(failures=1)
    path = tmp_path / "s.stage"
    link = Link(Numbers(), outlet, interval=1, tags=["a.b", "c"], stage=path)
    with pytest.raises(ConnectionError):
        link.transfer()
    link.on_shutdown()
    [(_, batch_id, when, transfer)] = outlet.pushes
    script = textwrap.dedent(f"""
        import json
        from databay.stage import SqliteStage, Stage
        with SqliteStage({str(path)!r}) as stage:
            [record, _] = stage.read(1)
            print(json.dumps([record.metadata[Stage.BATCH_ID], record.metadata[Stage.BATCH_TIME].isoformat(),
                              record.metadata[Stage.BATCH_UPDATE]]))
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout) == [batch_id, when.isoformat(), transfer]
    assert transfer == "a.b.c.0"


def test_batches_of_one_commit_are_a_microsecond_apart(tmp_path):
    """A grouper's batches share the transfer, and their times still grow with the batches,
    so that names built from the time sort in the order the batches were staged."""
    outlet = Stamps()
    link = Link(Numbers(), outlet, interval=1, tags=["t"], stage=tmp_path / "s.stage",
                groupers=[lambda batches: [[record] for batch in batches for record in batch]])
    link.transfer()
    link.on_shutdown()
    [first, second] = [(when, transfer) for _, _, when, transfer in outlet.pushes]
    assert (first[1], second[1]) == ("t.0", "t.0")
    assert second[0] - first[0] == datetime.timedelta(microseconds=1)


def test_batch_times_grow_even_when_the_clock_goes_back(tmp_path, monkeypatch):
    with SqliteStage(tmp_path / "s.stage") as stage:
        [first] = stage.commit("t.0", [[Record(1)]], ["Out"])
    monkeypatch.setattr("time.time_ns", lambda: 1_000_000_000)  # 1970: the clock went back
    with SqliteStage(tmp_path / "s.stage") as stage:  # a new object: the newest time comes from the file
        [second] = stage.commit("t.1", [[Record(2)]], ["Out"])
        times = [stage.read(batch)[0].metadata[Stage.BATCH_TIME] for batch in (first, second)]
    assert times[1] - times[0] == datetime.timedelta(microseconds=1)


def test_stamping_a_batch_not_just_committed_needs_its_origin(tmp_path):
    with SqliteStage(tmp_path / "s.stage") as stage:
        [batch] = stage.commit("t.0", [[Record(1)]], ["Out"])
        stage.commit("t.1", [[Record(2)]], ["Out"])
        with pytest.raises(StageError, match=f"batch {batch} is not one of the last commit's"):
            stage.stamp([Record(1)], batch)
        records = [Record(1)]
        stage.stamp(records, batch, (0.5, "t.0"))
    assert records[0].metadata[Stage.BATCH_TIME] == datetime.datetime(1970, 1, 1, 0, 0, 0, 500000, datetime.UTC)
    assert records[0].metadata[Stage.BATCH_UPDATE] == "t.0"
