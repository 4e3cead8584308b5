"""The :class:`StageTester`: a ``unittest.TestCase`` checking a stage backend's guarantees."""

from __future__ import annotations

import dataclasses
import datetime
import tempfile
import time
import unittest
from pathlib import Path

from databay.errors import StageError, StageSerializationError, UndecodableBatchError
from databay.record import Record
from databay.redaction import forget_secrets, register_secret
from databay.stage import codec
from databay.stage.base import DEAD, DELIVERED, PENDING, Stage


@dataclasses.dataclass
class _Vanishing:
    """A value type the tests register, stage, then unregister (a plugin gone after an upgrade)."""

    value: int


_VANISHING = "databay.testing:StageTester.vanishing"


class StageTester(unittest.TestCase):
    """Base class whose tests check that a stage backend keeps the stage's guarantees.

    Subclass it and implement :meth:`get_stage`: a new, unopened stage object over this
    test's storage. Every call within one test must reach the same storage (the tests
    "restart" by making a second object); each test needs storage of its own, initially
    empty. :attr:`workdir` is a fresh folder per test for file-based backends::

        from databay.testing import StageTester

        class TestRedisStage(StageTester):
            def get_stage(self):
                return RedisStage(url=REDIS_URL, key=f"test:{self.id()}")

    The rules checked (``databay.stage.Stage`` documents them):

    - it is a :class:`~databay.stage.Stage`; ``open``/``close`` can be repeated;
    - commit before delivery: what :meth:`~Stage.commit` returned is there for a new
      object over the same storage, records exact (payloads, metadata, their types) and
      stamped with their identities;
    - stamps: a batch's commit time and transfer (``Stage.BATCH_TIME``,
      ``Stage.BATCH_UPDATE``) are the same when the link stamps it right after committing
      it, when it is read again, after a replay and from a new object; batch times grow
      with batch numbers, also across a restart;
    - per-outlet acknowledgement, and a batch leaves once no outlet owes it;
    - order: pending batches in commit order; batch numbers grow and are never reused;
    - inlet states are committed with the records, and a failed commit writes nothing;
    - the intake of a link buffer;
    - dead letters (with their error, redacted), replay in order, purge, forget;
    - a poison batch: ``read`` raises :class:`~databay.errors.UndecodableBatchError` and
      changes nothing; ``load`` dead-letters it for every outlet owing it, then raises it;
      the next batch loads;
    - retention: delivered batches kept that long, listed as delivered, then gone;
    - one running link at a time: a second ``open(exclusive=True)`` fails.
    """

    __test__ = False  # the base class has nothing to test; its subclasses are collected

    workdir: Path
    """A temporary folder of this test, deleted afterwards."""

    retention: float = 0.5
    """Seconds of retention the retention test sets (it waits a little longer)."""

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls.__test__ = cls.__dict__.get("__test__", True)

    def get_stage(self) -> Stage:
        """Implement this method to return a new stage object over this test's storage."""
        raise NotImplementedError("Implement get_stage() to return your stage backend.")

    def setUp(self) -> None:
        if type(self).get_stage is StageTester.get_stage:
            self.skipTest("StageTester itself has no stage to test")
        folder = tempfile.TemporaryDirectory(prefix="stage-tester-")
        self.addCleanup(folder.cleanup)
        self.workdir = Path(folder.name)

    # -- helpers -----------------------------------------------------------------

    def opened(self, exclusive: bool = False) -> Stage:
        """A new object over this test's storage, opened (and closed after the test)."""
        stage = self.get_stage()
        self.addCleanup(stage.close)
        self.assertIs(stage.open(exclusive=exclusive), stage, "open() must return the stage")
        return stage

    def restarted(self, stage: Stage) -> Stage:
        """Close ``stage`` and open a new object over the same storage (a new process)."""
        stage.close()
        return self.opened()

    @staticmethod
    def records(*payloads: object, inlet: str = "Numbers()") -> list[Record]:
        return [Record(payload, {"__inlet__": inlet, "StageTester.KEY": [index]})
                for index, payload in enumerate(payloads)]

    def commit(self, stage: Stage, *batches: list[Record], outlets: tuple[str, ...] = ("Out",),
               states: dict[str, str] | None = None) -> list[int]:
        ids = stage.commit("tester.0", list(batches), list(outlets), states)
        self.assertEqual(len(ids), len(batches), "commit() returns one number per batch")
        return ids

    def assertRecords(self, loaded: list[Record], expected: list[Record], stage: Stage, batch: int) -> None:
        self.assertEqual([r.payload for r in loaded], [r.payload for r in expected])
        for index, (got, made) in enumerate(zip(loaded, expected)):
            for key, value in made.metadata.items():
                self.assertEqual(got.metadata.get(key), value, f"metadata {key!r} of record {index}")
            self.assertEqual(got.metadata.get(Stage.BATCH_ID), stage.batch_id(batch))
            self.assertEqual(got.metadata.get(Stage.RECORD_ID), f"{stage.batch_id(batch)}:{index}")

    # -- the guarantees ----------------------------------------------------------

    def test_is_a_stage_that_opens_and_closes(self) -> None:
        """It is a ``databay.stage.Stage``; open and close can be repeated; it has a uid."""
        stage = self.get_stage()
        self.assertIsInstance(stage, Stage)
        self.addCleanup(stage.close)
        self.assertFalse(stage.is_open, "a new stage must not be open before open()")
        stage.open()
        stage.open()
        self.assertTrue(stage.is_open)
        self.assertTrue(stage.uid, "open() must set the stage's uid")
        uid = stage.uid
        stage.close()
        stage.close()
        self.assertFalse(stage.is_open)
        self.assertEqual(self.opened().uid, uid, "the uid belongs to the storage, not to the object")

    def test_commit_before_delivery(self) -> None:
        """What commit() returned is there, exactly, for a new object over the same storage."""
        stage = self.opened()
        when = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
        first = self.records({"n": 1, "t": (1, "a"), 3: b"\x00"}, [when, None])
        second = self.records("text")
        ids = self.commit(stage, first, second, outlets=("Out", "Out#2"))
        self.assertEqual(stage.commit("tester.1", [], ["Out"]), [], "committing nothing stages nothing")
        again = self.restarted(stage)
        for outlet in ("Out", "Out#2"):
            self.assertEqual(again.pending(outlet), ids)
        loaded = again.load(ids[0])
        self.assertRecords(loaded, first, again, ids[0])
        self.assertIs(type(loaded[0].payload["t"]), tuple)
        self.assertEqual(again.load(ids[0])[1].payload, [when, None], "a batch loads again, the same")
        self.assertRecords(again.load(ids[1]), second, again, ids[1])

    def test_stamps_are_the_same_at_every_delivery(self) -> None:
        """A batch's commit time and transfer are stamped on its records, the same at every delivery."""
        stage = self.opened()
        before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(milliseconds=1)
        stamps: dict[int, tuple[datetime.datetime, str]] = {}
        for transfer, batches in (("tester.7", [self.records(1, 2), self.records(3)]), ("a.b.8", [self.records(4)])):
            ids = stage.commit(transfer, batches, ["A", "B"])
            for batch, records in zip(ids, batches):
                stage.stamp(records, batch)  # what a link does with the batches it just committed
                stamps[batch] = self.stamps_of(records, stage, batch)
                self.assertEqual(stamps[batch][1], transfer, "Stage.BATCH_UPDATE must be the transfer committed")
        times = [when for when, _ in stamps.values()]
        self.assertEqual(times, sorted(set(times)), "batch times must grow with batch numbers (one commit's too)")
        self.assertTrue(before <= times[0] and times[-1] <= before + datetime.timedelta(seconds=60),
                        f"Stage.BATCH_TIME must be when the batch was committed, not {times[0]}")
        first, second = list(stamps)[:2]
        self.assertEqual(self.stamps_of(stage.read(second), stage, second), stamps[second])
        stage.dead_letter("A", [first], "Error: down", "", 1)
        stage.replay()
        for again in (stage, self.restarted(stage)):
            for batch, stamped in stamps.items():
                self.assertEqual(self.stamps_of(again.load(batch), again, batch), stamped,
                                 f"batch {batch} must carry the same time and transfer at every delivery")
        records = self.records(5)
        [later] = again.commit("tester.9", [records], ["A"])
        again.stamp(records, later)
        self.assertEqual(self.stamps_of(again.load(later), again, later), self.stamps_of(records, again, later))
        self.assertGreater(self.stamps_of(records, again, later)[0], times[-1],
                           "a batch committed after a restart must have a later time")

    def stamps_of(self, records: list[Record], stage: Stage, batch: int) -> tuple[datetime.datetime, str]:
        """The ``(Stage.BATCH_TIME, Stage.BATCH_UPDATE)`` every record of ``batch`` carries (checked)."""
        stamps = {(r.metadata.get(Stage.BATCH_TIME), r.metadata.get(Stage.BATCH_UPDATE)) for r in records}
        self.assertEqual(len(stamps), 1, f"the records of batch {batch} must carry the same stamps, not {stamps}")
        [(when, transfer)] = stamps
        if not isinstance(when, datetime.datetime) or not isinstance(transfer, str):
            self.fail(f"Stage.BATCH_TIME must be a datetime and Stage.BATCH_UPDATE the transfer's text, not "
                      f"{when!r} and {transfer!r}")
        self.assertEqual(when.utcoffset(), datetime.timedelta(0), "Stage.BATCH_TIME must be in UTC")
        self.assertEqual({r.metadata.get(Stage.BATCH_ID) for r in records}, {stage.batch_id(batch)})
        return when, transfer

    def test_shared_metadata_comes_back_as_each_records_own(self) -> None:
        """Metadata stored once for a batch comes back as an independent copy per record."""
        stage = self.opened()
        shared = {"__inlet__": "Numbers()", "tags": ["a"]}
        records = [Record(n, dict(shared, tags=["a"])) for n in range(3)]
        [batch] = stage.commit("tester.0", [records], ["Out"], shared_metadata=[shared])
        loaded = self.restarted(stage).load(batch)
        loaded[0].metadata["tags"].append("changed")
        self.assertEqual([r.metadata["tags"] for r in loaded[1:]], [["a"], ["a"]])

    def test_per_outlet_acknowledgement(self) -> None:
        """An acknowledgement settles one outlet's delivery; the batch leaves once no outlet owes it."""
        stage = self.opened()
        [batch] = self.commit(stage, self.records(1), outlets=("A", "B"))
        stage.ack("A", [batch])
        stage = self.restarted(stage)
        self.assertEqual(stage.pending("A"), [])
        self.assertEqual(stage.pending("B"), [batch])
        self.assertEqual([(b.outlet, b.state, b.batches, b.records) for b in stage.backlog()],
                         [("B", PENDING, 1, 1)])
        stage.ack("B", [batch])
        stage = self.restarted(stage)
        self.assertEqual(stage.backlog(), [])
        self.assertEqual(stage.batches(), [], "without retention, a delivered batch is not kept")

    def test_order_and_numbers_never_reused(self) -> None:
        """Pending batches come in commit order; numbers grow, even after everything left."""
        stage = self.opened()
        ids = self.commit(stage, self.records(1), self.records(2))
        ids += self.commit(stage, self.records(3))
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(set(ids)), 3)
        self.assertEqual(stage.pending("Out"), ids)
        stage.ack("Out", ids)
        stage = self.restarted(stage)
        [later] = self.commit(stage, self.records(4))
        self.assertGreater(later, max(ids), "batch numbers must never be reused")

    def test_inlet_states_are_committed_with_the_records(self) -> None:
        """States are saved in the commit of their records; a commit that fails writes nothing."""
        stage = self.opened()
        [batch] = self.commit(stage, self.records(1), states={"Numbers": '{"next": 1}'})
        with self.assertRaises(StageSerializationError, msg="an unstorable record must fail the commit"):
            self.commit(stage, self.records(object()), states={"Numbers": '{"next": 2}'})
        stage = self.restarted(stage)
        self.assertEqual(stage.inlet_states(), {"Numbers": {"next": 1}})
        self.assertEqual(stage.pending("Out"), [batch], "the failed commit must not stage anything")
        self.commit(stage, states={"Numbers": '{"next": 3}'})
        self.assertEqual(self.restarted(stage).inlet_states(), {"Numbers": {"next": 3}})

    def test_intake(self) -> None:
        """Records a link buffer holds are kept in the intake until it is cleared."""
        stage = self.opened()
        held = self.records({"a": 1}, {"b": 2})
        stage.commit("tester.0", [], ["Out"], intake_records=held)
        stage = self.restarted(stage)
        self.assertEqual([r.payload for r in stage.intake()], [{"a": 1}, {"b": 2}])
        stage.commit("tester.1", [self.records(1)], ["Out"], clear_intake=True)
        self.assertEqual(self.restarted(stage).intake(), [])

    def test_dead_letters(self) -> None:
        """A dead letter is kept for its outlet only, with its error (redacted), and is not pending."""
        stage = self.opened()
        first, second = self.commit(stage, self.records(1, 2), self.records(3), outlets=("A", "B"))
        register_secret("tester-s3cret", "${SECRET}")
        try:
            [letter] = stage.dead_letter("A", [first], "ConnectionError: tester-s3cret refused",
                                         "Traceback: tester-s3cret", 3)
        finally:
            forget_secrets()
        self.assertEqual((letter.outlet, letter.batch_id, letter.size, letter.attempts),
                         ("A", stage.batch_id(first), 2, 3))
        stage = self.restarted(stage)
        self.assertEqual(stage.pending("A"), [second])
        self.assertEqual(stage.pending("B"), [first, second])
        [kept] = stage.dead_letters()
        self.assertEqual((kept.outlet, kept.batch_id, kept.attempts), ("A", stage.batch_id(first), 3))
        for text in (kept.error, kept.traceback, letter.error):
            self.assertNotIn("tester-s3cret", text, "error text must be stored through databay.redaction.redact()")
        self.assertIn("${SECRET}", kept.error)
        self.assertIn(("A", DEAD, 1, 2), [(b.outlet, b.state, b.batches, b.records) for b in stage.backlog()])
        self.assertEqual([(b.batch, b.outlet, b.state) for b in stage.batches([DEAD])], [(first, "A", DEAD)])

    def test_replay_in_order(self) -> None:
        """Replayed dead letters are pending again, in order with the rest."""
        stage = self.opened()
        ids = self.commit(stage, self.records(1), self.records(2), self.records(3), outlets=("A", "B"))
        stage.dead_letter("A", ids[:2], "Error: down", "", 1)
        self.assertEqual(stage.replay("B"), 0)
        self.assertEqual(stage.replay(), 2)
        self.assertEqual(self.restarted(stage).pending("A"), ids)

    def test_purge_and_forget(self) -> None:
        """Purge deletes dead letters, forget an outlet's deliveries; batches nobody owes leave."""
        stage = self.opened()
        first, second = self.commit(stage, self.records(1), self.records(2), outlets=("A", "B"))
        stage.dead_letter("A", [first], "Error: down", "", 1)
        self.assertEqual(stage.purge(), 1)
        self.assertEqual(stage.dead_letters(), [])
        self.assertEqual(stage.pending("B"), [first, second], "purging A's dead letters leaves B's deliveries")
        self.assertEqual(stage.forget("B"), 2)
        stage = self.restarted(stage)
        self.assertEqual(stage.pending("B"), [])
        self.assertEqual(stage.pending("A"), [second])
        self.assertEqual([(b.batch, b.outlet) for b in stage.batches()], [(second, "A")])

    def test_a_poison_batch_is_dead_lettered_and_the_next_loads(self) -> None:
        """A batch that cannot be decoded is dead-lettered by load() for every outlet owing it."""
        codec.register_type(_Vanishing, name=_VANISHING)
        try:
            stage = self.opened()
            poison, good = self.commit(stage, self.records({"v": _Vanishing(1)}), self.records(2),
                                       outlets=("A", "B"))
        finally:
            codec._forget_type(_Vanishing)
        stage = self.restarted(stage)
        with self.assertRaises(UndecodableBatchError):
            stage.read(poison)
        self.assertEqual(stage.pending("A"), [poison, good], "read() must change nothing")
        with self.assertRaises(UndecodableBatchError) as raised:
            stage.load(poison)
        self.assertIn(_VANISHING, str(raised.exception), "the error must say why")
        self.assertEqual(stage.pending("A"), [good])
        self.assertEqual(stage.pending("B"), [good])
        letters = stage.dead_letters()
        self.assertEqual([(d.outlet, d.batch_id) for d in letters], [("A", stage.batch_id(poison)),
                                                                     ("B", stage.batch_id(poison))])
        self.assertTrue(all(_VANISHING in d.error for d in letters), "the dead letters must say why")
        self.assertEqual([r.payload for r in stage.load(good)], [2])

    def test_retention_keeps_delivered_batches_for_a_while(self) -> None:
        """With retention, a delivered batch is listed as delivered and loads, until it expires."""
        stage = self.get_stage()
        stage.retention = datetime.timedelta(seconds=self.retention)
        self.assertEqual(stage.retention, self.retention)
        self.addCleanup(stage.close)
        stage.open(exclusive=True)
        [batch] = self.commit(stage, self.records(1), outlets=("A", "B"))
        stage.ack("A", [batch])
        stage.ack("B", [batch])
        stage.close()
        reader = self.opened()  # e.g. `databay stage`, which knows no retention
        [kept] = reader.batches([DELIVERED])
        self.assertEqual((kept.batch, kept.outlet, kept.state, kept.size), (batch, None, DELIVERED, 1))
        self.assertEqual([r.payload for r in reader.load(batch)], [1])
        self.assertEqual(reader.backlog(), [])
        reader.close()
        time.sleep(self.retention * 1.5)
        stage.open(exclusive=True)
        self.commit(stage, self.records(2))  # writes let the stage drop what expired
        self.assertEqual(stage.batches([DELIVERED]), [], "a delivered batch past its retention must go")

    def test_one_running_link_at_a_time(self) -> None:
        """A second exclusive open (a second running link) fails with a StageError."""
        self.opened(exclusive=True)
        second = self.get_stage()
        self.addCleanup(second.close)
        with self.assertRaises(StageError):
            second.open(exclusive=True)

    def test_changes_by_another_object_are_noticed(self) -> None:
        """After another object (``databay stage --replay``) changed the stage, ``changed_elsewhere()`` says so."""
        stage = self.opened()
        [batch] = self.commit(stage, self.records(1))
        stage.dead_letter("Out", [batch], "Error: down", "", 1)
        stage.changed_elsewhere()
        other = self.opened()
        self.assertEqual(other.replay(), 1)
        self.assertTrue(stage.changed_elsewhere())
        self.assertEqual(stage.pending("Out"), [batch])

    def test_replay_through_the_same_object_is_noticed(self) -> None:
        """A replay called on the stage a running link uses (``link.stage.replay()``) is noticed too."""
        stage = self.opened()
        [batch] = self.commit(stage, self.records(1))
        stage.dead_letter("Out", [batch], "Error: down", "", 1)
        stage.changed_elsewhere()
        self.assertEqual(stage.replay(), 1)
        self.assertTrue(stage.changed_elsewhere())
        self.assertEqual(stage.pending("Out"), [batch])
