"""The StageTester: the SQLite stage passes it, and it fails backends that break a guarantee."""

from __future__ import annotations

import datetime
import time
import unittest

from databay import Link
from databay.stage import SqliteStage, Stage
from databay.testing import StageTester


class TestSqliteStage(StageTester):
    def get_stage(self) -> Stage:
        return SqliteStage(self.workdir / "tester.stage")


class TestSqliteStageWithFsync(StageTester):
    def get_stage(self) -> Stage:
        return SqliteStage(self.workdir / "state" / "tester.stage", fsync=True)


class TestStageOfAPath(StageTester):
    """``Stage(path)``, as a link makes it from a path, is the SQLite stage."""

    def get_stage(self) -> Stage:
        stage = Stage(self.workdir / "tester.stage")
        assert type(stage) is SqliteStage
        return stage


def failures(tester: type[StageTester]) -> dict[str, str]:
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(tester).run(result)
    return {test._testMethodName: report for test, report in result.failures + result.errors}


def make_tester(backend: type[SqliteStage]) -> type[StageTester]:
    return type(f"Test{backend.__name__}", (StageTester,),
                {"get_stage": lambda self: backend(self.workdir / "broken.stage"), "retention": 0.2})


class KeepsPoison(SqliteStage):
    """Raises on a poison batch without dead-lettering it: the batch would block its outlet."""

    def load(self, batch):
        return self.read(batch)


class LeaksSecrets(SqliteStage):
    def dead_letter(self, outlet, batches, error, traceback, attempts):
        batches = list(batches)
        with self._writing("dead-letter", outlet) as connection:
            connection.executemany("UPDATE deliveries SET state = 'dead', attempts = ?, failed_at = 0, error = ?, "
                                   "traceback = ? WHERE outlet = ? AND batch = ?",
                                   [(attempts, error, traceback, outlet, batch) for batch in batches])
        return super().dead_letter(outlet, [], error, traceback, attempts)


class ForgetsStates(SqliteStage):
    def commit(self, transfer, batches, outlets, inlet_states=None, **options):
        return super().commit(transfer, batches, outlets, None, **options)


class KeepsNothing(SqliteStage):
    def ack(self, outlet, batches):
        self.retention = None
        super().ack(outlet, batches)


class StampsTheTimeOfReading(SqliteStage):
    """A batch read again gets the time of the read: a redelivery would be named anew."""

    def read(self, batch):
        records = super().read(batch)
        for record in records:
            record.metadata[Stage.BATCH_TIME] = datetime.datetime.now(datetime.UTC)
        return records


class OneTimePerCommit(SqliteStage):
    """The batches of one commit share its time: names made from it would not sort in batch order."""

    @staticmethod
    def batch_times(count, after=0.0):
        return [time.time()] * count


def test_backends_breaking_one_guarantee_fail_exactly_its_tests():
    assert set(failures(make_tester(KeepsPoison))) == {"test_a_poison_batch_is_dead_lettered_and_the_next_loads"}
    assert set(failures(make_tester(LeaksSecrets))) == {"test_dead_letters"}
    assert set(failures(make_tester(ForgetsStates))) == {"test_inlet_states_are_committed_with_the_records"}
    assert set(failures(make_tester(KeepsNothing))) == {"test_retention_keeps_delivered_batches_for_a_while"}
    assert set(failures(make_tester(StampsTheTimeOfReading))) == {"test_stamps_are_the_same_at_every_delivery"}
    assert set(failures(make_tester(OneTimePerCommit))) == {"test_stamps_are_the_same_at_every_delivery"}
    assert failures(make_tester(SqliteStage)) == {}


def test_the_databay_stage_fixture_gives_a_stage_to_a_link(databay_stage, run_transfer):
    from databay import Record
    from databay.testing._contract import Collector, ListInlet

    collector = Collector()
    run_transfer(Link(ListInlet([Record(1)]), collector, interval=1, stage=databay_stage))
    assert [r.payload for r in collector.records] == [1]
    assert databay_stage.path.exists() and databay_stage.batches() == []
