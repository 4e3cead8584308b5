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
from _csv_writers import BATCH, ROWS, link_transfer, outlet_push, raw_dictwriter  # noqa: E402

ROUNDS = 5  # everyone takes turns, so that the machine's noise hits all alike
ROUNDS_03 = 3  # databay 0.3.0 takes seconds per run
TARGET = 0.8

# The same code as here (_csv_writers), run by databay 0.3.0 in the temporary folder given.
DATABAY03 = """
import json
from _csv_writers import link_transfer, outlet_push

folder = {folder!r}
outlet_push(folder + "/warmup03.csv")
print(json.dumps({{"push": outlet_push(folder + "/push03.csv"), "transfer": link_transfer(folder + "/transfer03.csv")}}))
"""


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
                result = run_databay03(DATABAY03.format(folder=folder))
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
