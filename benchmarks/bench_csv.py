"""CsvOutlet: 100,000 rows of 5 fields written in pushes of 1,000.

Side by side in one run, each writer appending to a fresh file in the same temporary folder,
with the rows (and records) built before the clock starts:

- the limit: raw ``csv.DictWriter``, the file opened once per batch of 1,000, the header
  written before the first;
- databay: ``CsvOutlet`` through ``Link.transfer()`` (an inlet returning 1,000 dicts per
  pull, ``copy_records=True``: the realistic path), and bare ``CsvOutlet.push`` of 1,000
  records;
- databay 0.3.0: its own ``CsvOutlet``, the same two ways (in ``$DATABAY03_PYTHON``).

The same code runs under both databays (``from databay.outlets import CsvOutlet``), and
every writer's file must come out byte for byte equal to the raw writer's.

Target: databay's ``Link.transfer()`` path at least 0.8x the rows/s of raw ``csv.DictWriter``.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, databay03_python, median, run_databay03, verdict  # noqa: E402

ROWS = 100_000
BATCH = 1_000
ROUNDS = 5  # everyone takes turns, so that the machine's noise hits all alike
ROUNDS_03 = 3  # databay 0.3.0 takes seconds per run
TARGET = 0.8

# Runs unchanged under this repository's databay (CsvOutlet from databay-csv) and databay 0.3.0.
WRITERS = f"""
import csv
import datetime
import time

from databay import Inlet, Link, Record, Update
from databay.outlets import CsvOutlet

ROWS, BATCH = {ROWS}, {BATCH}
FIELDS = ["id", "name", "value", "done", "tag"]
TAGS = ["red", "green", "blue, or cyan", "none"]


def make_batches():
    rows = [{{"id": i, "name": f"item-{{i}}", "value": i * 0.5, "done": i % 2 == 0, "tag": TAGS[i % 4]}}
            for i in range(ROWS)]
    return [rows[n:n + BATCH] for n in range(0, ROWS, BATCH)]


class BatchInlet(Inlet):
    def __init__(self, batches):
        super().__init__()
        self.batches = iter(batches)

    def pull(self, update):
        return next(self.batches)


def outlet_push(path):
    pushes = [[Record(row) for row in batch] for batch in make_batches()]
    outlet = CsvOutlet(path)
    update = Update(["bench"], 0)
    start = time.perf_counter()
    for records in pushes:
        outlet.push(records, update)
    return time.perf_counter() - start


def link_transfer(path):
    batches = make_batches()
    link = Link(BatchInlet(batches), CsvOutlet(path), interval=datetime.timedelta(hours=1), copy_records=True)
    start = time.perf_counter()
    for _ in batches:
        link.transfer()
    return time.perf_counter() - start


def raw_dictwriter(path):
    batches = make_batches()
    start = time.perf_counter()
    for number, batch in enumerate(batches):
        with open(path, "a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, FIELDS)
            if number == 0:
                writer.writeheader()
            writer.writerows(batch)
    return time.perf_counter() - start
"""

DATABAY03 = WRITERS + """
import json


def run(folder):
    outlet_push(folder + "/warmup03.csv")
    print(json.dumps({"push": outlet_push(folder + "/push03.csv"), "transfer": link_transfer(folder + "/transfer03.csv")}))
"""

namespace: dict = {}
exec(compile(WRITERS, "<bench writers>", "exec"), namespace)
outlet_push, link_transfer, raw_dictwriter = (namespace[n] for n in ("outlet_push", "link_transfer", "raw_dictwriter"))


def timed(writer, folder: str, name: str, expected: bytes | None) -> float:
    """Seconds ``writer`` takes to write the rows into a fresh file; checks the file against ``expected``."""
    path = os.path.join(folder, name)
    seconds = writer(path)
    check(path, expected)
    return seconds


def check(path: str, expected: bytes | None) -> None:
    data = Path(path).read_bytes()
    os.remove(path)
    lines = data.count(b"\r\n")
    assert lines == ROWS + 1, f"{path}: {lines} lines"
    if expected is not None:
        assert data == expected, f"{path} differs from what csv.DictWriter wrote"


def main() -> int:
    with_03 = databay03_python() is not None
    seconds: dict[str, list[float]] = {"raw": [], "transfer": [], "push": [], "transfer03": [], "push03": []}
    with tempfile.TemporaryDirectory(prefix="bench_csv_") as folder:
        raw_dictwriter(os.path.join(folder, "warmup.csv"))
        expected = Path(folder, "warmup.csv").read_bytes()
        check(os.path.join(folder, "warmup.csv"), None)
        outlet_push(os.path.join(folder, "warmup.csv"))
        check(os.path.join(folder, "warmup.csv"), expected)
        for n in range(ROUNDS):
            seconds["raw"].append(timed(raw_dictwriter, folder, "raw.csv", expected))
            seconds["transfer"].append(timed(link_transfer, folder, "transfer.csv", expected))
            seconds["push"].append(timed(outlet_push, folder, "push.csv", expected))
            if with_03 and n < ROUNDS_03:
                result = run_databay03(DATABAY03 + f"\nrun({folder!r})\n")
                for key in ("push", "transfer"):
                    seconds[f"{key}03"].append(result[key])
                    check(os.path.join(folder, f"{key}03.csv"), expected)
                os.remove(os.path.join(folder, "warmup03.csv"))

    rate = {key: ROWS / median(values) for key, values in seconds.items() if values}
    table = Table(f"CsvOutlet: {ROWS:,} rows of 5 fields in pushes of {BATCH:,} "
                  f"(median of {ROUNDS}, databay 0.3.0 of {ROUNDS_03})",
                  ["writer", "rows/s", "x raw"])
    labels = {
        "raw": "raw csv.DictWriter, one open per batch (limit)",
        "transfer": "databay CsvOutlet via Link.transfer()",
        "push": "databay CsvOutlet.push",
        "transfer03": "databay 0.3.0 CsvOutlet via Link.transfer()",
        "push03": "databay 0.3.0 CsvOutlet.push",
    }
    for key, value in rate.items():
        table.add_row(labels[key], value, f"{value / rate['raw']:.2f}x")
    table.print()
    if "transfer03" in rate:
        print(f"databay vs databay 0.3.0: {rate['transfer'] / rate['transfer03']:.1f}x the rows/s via Link.transfer(), "
              f"{rate['push'] / rate['push03']:.1f}x via push")
    ok = verdict("csv rows/s, databay Link.transfer() / raw csv.DictWriter", rate["transfer"] / rate["raw"], TARGET)
    verdict("csv rows/s, databay CsvOutlet.push / raw csv.DictWriter (reported)", rate["push"] / rate["raw"], TARGET)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
