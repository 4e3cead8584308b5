"""The writers bench_csv times: 100,000 rows of 5 fields appended to a file in batches of 1,000.

It imports only what databay 0.3.0 has too (``CsvOutlet`` from ``databay.outlets``, from
databay-csv here), so that bench_csv runs this very code under both databays
(``run_databay03`` runs in this folder). Each writer returns the seconds it took, with the
rows (and records) built before the clock starts.
"""

from __future__ import annotations

import csv
import datetime
import time

from databay import Inlet, Link, Record, Update
from databay.outlets import CsvOutlet

ROWS, BATCH = 100_000, 1_000
FIELDS = ["id", "name", "value", "done", "tag"]
TAGS = ["red", "green", "blue, or cyan", "none"]


def make_batches() -> list[list[dict]]:
    rows = [{"id": i, "name": f"item-{i}", "value": i * 0.5, "done": i % 2 == 0, "tag": TAGS[i % 4]}
            for i in range(ROWS)]
    return [rows[n:n + BATCH] for n in range(0, ROWS, BATCH)]


class BatchInlet(Inlet):
    def __init__(self, batches):
        super().__init__()
        self.batches = iter(batches)

    def pull(self, update):
        return next(self.batches)


def outlet_push(path: str) -> float:
    """``CsvOutlet.push`` of every batch."""
    pushes = [[Record(row) for row in batch] for batch in make_batches()]
    outlet = CsvOutlet(path)
    update = Update(["bench"], 0)
    start = time.perf_counter()
    for records in pushes:
        outlet.push(records, update)
    return time.perf_counter() - start


def link_transfer(path: str) -> float:
    """``Link.transfer()`` of an inlet returning one batch per pull into a ``CsvOutlet``."""
    batches = make_batches()
    link = Link(BatchInlet(batches), CsvOutlet(path), interval=datetime.timedelta(hours=1), copy_records=True)
    start = time.perf_counter()
    for _ in batches:
        link.transfer()
    return time.perf_counter() - start


def raw_dictwriter(path: str) -> float:
    """The limit: ``csv.DictWriter``, the file opened once per batch, the header before the first."""
    batches = make_batches()
    start = time.perf_counter()
    for number, batch in enumerate(batches):
        with open(path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, FIELDS)
            if number == 0:
                writer.writeheader()
            writer.writerows(batch)
    return time.perf_counter() - start
