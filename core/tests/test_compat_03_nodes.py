"""databay 0.3 code that subclasses InletTester or writes with FileOutlet, through the public API."""

from __future__ import annotations

import unittest

from databay import Link, Record
from databay.inlets import RandomIntInlet
from databay.misc.inlet_tester import InletTester as InletTester03
from databay.outlets import FileOutlet
from databay.testing import InletTester, OutletTester, SequenceInlet


def _run(case: type[unittest.TestCase]) -> unittest.TestResult:
    result = unittest.TestResult()
    unittest.defaultTestLoader.loadTestsFromTestCase(case).run(result)
    return result


def test_setup_sets_inlet_and_inlets_for_subclasses():
    seen = []

    for base in (InletTester03, InletTester):
        class RandomIntInletTest(base):  # as the manual invites: a setUp of one's own
            def get_inlet(self):
                return [RandomIntInlet(), RandomIntInlet(min=10, max=200)]

            def setUp(self):
                super().setUp()
                seen.append((type(self.inlet), len(self.inlets), self.inlet is self.inlets[0]))
                self.inlets[1].metadata["configured"] = "in setUp"

            def test_own(self):
                """A test of one's own reads self.inlet and self.inlets as 0.3's setUp left them."""
                self.assertEqual(self.inlets[1].metadata["configured"], "in setUp")
                self.assertEqual(self.inlet.min, 0)

        result = _run(RandomIntInletTest)
        assert result.wasSuccessful(), result.failures + result.errors
        assert result.testsRun > 1

    assert seen and set(seen) == {(RandomIntInlet, 2, True)}


def test_file_outlet_in_mode_w_keeps_every_record_of_the_last_push(tmp_path):
    """A deliberate difference: 0.3.0 opened the file once per record, keeping only the last."""

    path = tmp_path / "out.txt"
    numbers = SequenceInlet(per_pull=3, payload=lambda n: n)  # 0, 1, 2, then 3, 4, 5
    link = Link(numbers, FileOutlet(path, default_file_mode="w"), interval=1)
    link.transfer()
    assert path.read_text().splitlines() == ["0", "1", "2"]
    link.transfer()
    assert path.read_text().splitlines() == ["3", "4", "5"]  # the push replaced the file


def test_an_outlet_whose_push_returns_a_value_passes_the_kit(tmp_path):
    """databay 0.3's MongoOutlet.push returned True or False: a value push returns is ignored."""

    class ReturnsTrue(FileOutlet):
        def push(self, records, update):
            super().push(records, update)
            return True

    path = tmp_path / "out.txt"

    class ReturnsTrueTest(OutletTester):
        def get_outlet(self):
            return ReturnsTrue(path)

        def read_back(self, outlet):
            return path.read_text().splitlines() if path.exists() else []

        def get_records(self):
            return [Record(str(n)) for n in range(3)]

    result = _run(ReturnsTrueTest)
    assert result.wasSuccessful(), result.failures + result.errors
    assert result.testsRun > 5
