"""databay's conformance kit, run against the CSV components."""

from __future__ import annotations

import pytest
from databay.testing import InletTester, OutletTester
from databay_csv import CsvInlet, CsvOutlet


class TestCsvOutletContract(OutletTester):
    @pytest.fixture(autouse=True)
    def _folder(self, tmp_path) -> None:
        self.folder = tmp_path

    def get_outlet(self):
        return [
            CsvOutlet(self.folder / "default.csv"),
            CsvOutlet(self.folder / "w.csv", "w", fieldnames=["id", "name", "value"], dialect="excel-tab"),
        ]

    def get_failing_outlet(self):
        blocker = self.folder / "blocker"
        blocker.write_text("a file where a folder should be")
        return CsvOutlet(blocker / "out.csv")


class TestCsvInletContract(InletTester):
    @pytest.fixture(autouse=True)
    def _files(self, tmp_path) -> None:
        self.path = tmp_path / "in.csv"
        self.path.write_text("id,name\n1,alpha\n2,beta\n", encoding="utf-8")
        self.missing = tmp_path / "missing.csv"

    def get_inlet(self):
        return [
            CsvInlet(self.path),
            CsvInlet(self.path, max_rows=1, metadata={"CsvInlet.SOURCE": "x"}),
            CsvInlet(self.missing),
        ]
