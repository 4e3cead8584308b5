"""The cost of a stage: the same link with and without one, 1,000-record transfers.

Side by side in one run, the staged and the unstaged link taking turns: 1 inlet returning
1,000 small dicts, ``copy_records=True``, 1 and 2 outlets that count what they receive;
the staged link commits each transfer's batch to its SQLite stage (WAL,
``synchronous=NORMAL``), delivers it, and acknowledges it (deleting it). Measured:

- ``Link.transfer()`` on its own (no planner);
- ``Link.transfer()`` while a ``SchedulePlanner`` runs the link (on its loop, the sync
  pull and pushes and the stage's writes in its thread pool).

Also, for information: the staged link with ``SqliteStage(fsync=True)`` (an fsync per
commit) and with a retention (delivered batches kept, each acknowledgement a transaction);
and reading a staged 1,000-record batch back (``Stage.read``, what a redelivery costs:
the restricted decoder and its checks) against plain ``pickle.loads`` of the same bytes
followed by making and stamping the records, the same work with no check at all (the
limit).

Target: the staged link keeps at least 0.5x the throughput of the unstaged one.
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, running_planner, verdict  # noqa: E402
from _dict_link import RECORDS, DictInlet, make_link, transfer_rates  # noqa: E402
from databay import Link, Record  # noqa: E402
from databay.stage import SqliteStage  # noqa: E402

ROUNDS = 3
REPEATS = 3
TRANSFERS = 100
TARGET = 0.5


def check_stage_empty(link: Link) -> None:
    if link.stage is not None:
        assert link.stage.backlog() == [], "the stage should be empty after every transfer"


def standalone(link: Link) -> list[float]:
    result = transfer_rates(link, TRANSFERS, REPEATS)
    check_stage_empty(link)
    return result


def in_planner(link: Link) -> list[float]:
    with running_planner(link):
        result = transfer_rates(link, TRANSFERS, REPEATS)
    check_stage_empty(link)
    return result


def read_back(stage: SqliteStage, repeats: int = 200) -> tuple[float, float]:
    """Batches/s of ``stage.read`` of a committed 1,000-record batch, and of the same without
    any check: ``pickle.loads`` of its stored bytes, then the records made and stamped."""
    import sqlite3

    records = [Record(p, {"__inlet__": "DictInlet()"}) for p in DictInlet().pull(None)]
    with stage:
        [batch] = stage.commit("bench.0", [records], ["CountOutlet"])
        with sqlite3.connect(stage.path) as connection:
            [(data,)] = connection.execute("SELECT records FROM batches WHERE id = ?", (batch,)).fetchall()

        def unchecked() -> None:
            payloads, metadata = pickle.loads(data)
            stage.stamp(list(map(Record, payloads, metadata)), batch)

        rates = []
        for read in (lambda: stage.read(batch), unchecked):
            read()
            start = time.perf_counter()
            for _ in range(repeats):
                read()
            rates.append(repeats / (time.perf_counter() - start))
    return rates[0], rates[1]


def main() -> int:
    samples: dict[tuple, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as folder:
        counter = iter(range(10_000))

        def stage(fsync: bool = False, retention: float | None = None) -> SqliteStage:
            return SqliteStage(Path(folder, f"link-{next(counter)}.stage"), fsync=fsync, retention=retention)

        for round_ in range(ROUNDS):
            print(f"Round {round_ + 1} of {ROUNDS} ...", flush=True)
            for outlets in (1, 2):
                for mode, measure in (("standalone", standalone), ("planner", in_planner)):
                    samples.setdefault(("plain", mode, outlets), []).extend(measure(make_link(outlets)))
                    samples.setdefault(("staged", mode, outlets), []).extend(measure(make_link(outlets, stage=stage())))
                samples.setdefault(("fsync", "standalone", outlets), []).extend(
                    standalone(make_link(outlets, stage=stage(fsync=True))))
                samples.setdefault(("retention", "standalone", outlets), []).extend(
                    transfer_rates(make_link(outlets, stage=stage(retention=3600)), TRANSFERS, REPEATS))
            reading = read_back(stage())
            samples.setdefault(("read", "stage"), []).append(reading[0])
            samples.setdefault(("read", "pickle"), []).append(reading[1])
    table = Table(
        f"Transfers/s, 1 inlet x {RECORDS:,} dict records, copy_records=True "
        f"(median of {ROUNDS} rounds x {REPEATS})",
        ["outlets", "how", "no stage", "stage", "stage / no stage", "stage, fsync=True", "fsync / no stage",
         "stage, retention", "retention / no stage"],
    )
    for outlets in (1, 2):
        for mode in ("standalone", "planner"):
            plain = median(samples[("plain", mode, outlets)])
            staged = median(samples[("staged", mode, outlets)])
            extra = []
            for variant in ("fsync", "retention"):
                rate = median(samples[(variant, mode, outlets)]) if (variant, mode, outlets) in samples else None
                extra += [rate, f"{rate / plain:.2f}x"] if rate else ["-", "-"]
            table.add_row(outlets, "Link.transfer" if mode == "standalone" else "in a planner", plain, staged,
                          f"{staged / plain:.2f}x", *extra)
    table.print()
    reads = Table(f"Reading a staged batch of {RECORDS:,} dict records back (a redelivery), batches/s, median of "
                  f"{ROUNDS}", ["how", "batches/s", "x unchecked"])
    limit = median(samples[("read", "pickle")])
    reads.add_row("pickle.loads, records made and stamped, no checks (limit)", limit, "1.00x")
    checked = median(samples[("read", "stage")])
    reads.add_row("Stage.read (restricted decoder, bounds, stamping)", checked, f"{checked / limit:.2f}x")
    reads.print()
    for outlets in (1, 2):
        for mode in ("standalone", "planner"):
            plain = median(samples[("plain", mode, outlets)])
            staged = median(samples[("staged", mode, outlets)])
            verdict(f"{outlets} outlet(s), {mode}: staged / unstaged", staged / plain, TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
