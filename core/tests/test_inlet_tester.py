"""databay.misc.inlet_tester.InletTester, used as in databay 0.3."""

from __future__ import annotations

import unittest

from databay import Inlet
from databay.inlets.file_inlet import FileInlet, FileInletMode
from databay.inlets.null_inlet import NullInlet
from databay.inlets.random_int_inlet import RandomIntInlet
from databay.misc import inlet_tester
from databay.misc.inlet_tester import InletTester, for_each_inlet


class TestRandomIntInlet(inlet_tester.InletTester):
    """Collected by pytest, exactly as the manual writes it."""

    def get_inlet(self):
        return [RandomIntInlet(), RandomIntInlet(min=10, max=200)]


def run(case: type[unittest.TestCase]) -> unittest.TestResult:
    suite = unittest.defaultTestLoader.loadTestsFromTestCase(case)
    result = unittest.TestResult()
    suite.run(result)
    return result


def test_inlet_tester_passes_on_builtin_inlets(tmp_path):
    path = tmp_path / "in.txt"
    path.write_text("line\n", encoding="utf-8")

    class BuiltinsTest(InletTester):
        def get_inlet(self):
            return [NullInlet(), RandomIntInlet(metadata={"m": 1}), FileInlet(path),
                    FileInlet(path, FileInletMode.FILE)]

    result = run(BuiltinsTest)
    assert result.testsRun == 4
    assert result.failures == [] and result.errors == [] and result.skipped == []


def test_inlet_tester_runs_each_test_for_each_inlet():
    pulled = []

    class Recording(Inlet):
        def __init__(self, name, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.name = name

        def pull(self, update):
            pulled.append((self.name, str(update)))
            return 1

    class RecordingTest(InletTester):
        def get_inlet(self):
            return [Recording("a"), Recording("b")]

    result = run(RecordingTest)
    assert result.wasSuccessful()
    # test_dont_read_metadata and test_pull pull each inlet once.
    assert sorted(pulled) == [("a", "InletTester.0")] * 2 + [("b", "InletTester.0")] * 2


def test_inlet_tester_catches_an_inlet_reading_its_metadata():
    class Nosy(Inlet):
        def pull(self, update):
            return self.metadata.get("should_do_stuff")

    class NosyTest(InletTester):
        def get_inlet(self):
            return Nosy()

    result = run(NosyTest)
    assert result.testsRun == 4
    assert len(result.failures) == 1
    assert "test_dont_read_metadata" in str(result.failures[0][0])
    assert "the inlet read metadata key 'should_do_stuff'" in result.failures[0][1]


def test_inlet_tester_catches_a_bad_new_record():
    class Lossy(Inlet):
        def pull(self, update):
            return 1

        def new_record(self, payload, metadata=None):
            return super().new_record(payload)  # drops local metadata

    class LossyTest(InletTester):
        def get_inlet(self):
            return Lossy()

    result = run(LossyTest)
    failed = sorted(str(test).split()[0] for test, _ in result.failures + result.errors)
    assert failed == ["test_new_record", "test_new_record_override_global"]


def test_inlet_tester_base_is_not_collected_and_skips_without_get_inlet():
    assert InletTester.__test__ is False
    assert TestRandomIntInlet.__test__ is True
    result = run(InletTester)
    assert result.testsRun == 4 and len(result.skipped) == 4


def test_for_each_inlet_is_exported():
    assert callable(for_each_inlet)
