"""databay's conformance kit, run against the CSV components."""

from __future__ import annotations

import csv

import pytest
from databay.record import Record
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

    def get_records(self):
        # What a CSV file gives back: strings.
        return [Record({"id": "1", "name": "alpha", "value": "1.5"}, {"__inlet__": "OutletTester()"}),
                Record({"id": "2", "name": "beta, with a comma", "value": "-2.0"}, {}),
                Record({"id": "3", "name": 'gamma "quoted"\nover two lines', "value": ""})]

    def read_back(self, outlet):
        if outlet.default_file_mode != "a":
            return None  # each push replaces the file: nothing to count across pushes
        path = outlet.default_filepath
        try:
            with open(path, newline="", encoding="utf-8") as file:
                return list(csv.DictReader(file, dialect=outlet.format.dialect, **outlet.format.options))
        except FileNotFoundError:
            return []

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

    def get_failing_inlet(self):
        # A header naming a column twice: a value would be lost, so the inlet refuses it.
        self.path.write_text("id,id\n1,2\n", encoding="utf-8")
        return CsvInlet(self.path)
