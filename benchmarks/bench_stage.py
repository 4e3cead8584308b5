"""The cost of a stage: the same link with and without one, 1,000-record transfers.

Side by side in one run, the staged and the unstaged link taking turns: 1 inlet returning
1,000 small dicts, ``copy_records=True``, 1 and 2 outlets that count what they receive;
the staged link commits each transfer's batch to its SQLite stage (WAL,
``synchronous=NORMAL``), delivers it, and acknowledges it (deleting it). Measured:

- ``Link.transfer()`` on its own (no planner);
- ``Link.transfer()`` while a ``SchedulePlanner`` runs the link (on its loop, the sync
  pull and pushes and the stage's writes in its thread pool).

Also, for information: the staged link with ``Stage(fsync=True)`` (an fsync per commit).

Target: the staged link keeps at least 0.5x the throughput of the unstaged one.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, median, running_planner, verdict  # noqa: E402
from _dict_link import RECORDS, make_link, transfer_rates  # noqa: E402
from databay import Link  # noqa: E402
from databay.stage import Stage  # noqa: E402

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


def main() -> int:
    samples: dict[tuple, list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-stage-") as folder:
        counter = iter(range(10_000))

        def stage(fsync: bool = False) -> Stage:
            return Stage(Path(folder, f"link-{next(counter)}.stage"), fsync=fsync)

        for round_ in range(ROUNDS):
            print(f"Round {round_ + 1} of {ROUNDS} ...", flush=True)
            for outlets in (1, 2):
                for mode, measure in (("standalone", standalone), ("planner", in_planner)):
                    samples.setdefault(("plain", mode, outlets), []).extend(measure(make_link(outlets)))
                    samples.setdefault(("staged", mode, outlets), []).extend(measure(make_link(outlets, stage=stage())))
                samples.setdefault(("fsync", "standalone", outlets), []).extend(
                    standalone(make_link(outlets, stage=stage(fsync=True))))
    table = Table(
        f"Transfers/s, 1 inlet x {RECORDS:,} dict records, copy_records=True "
        f"(median of {ROUNDS} rounds x {REPEATS})",
        ["outlets", "how", "no stage", "stage", "stage / no stage", "stage, fsync=True", "fsync / no stage"],
    )
    for outlets in (1, 2):
        for mode in ("standalone", "planner"):
            plain = median(samples[("plain", mode, outlets)])
            staged = median(samples[("staged", mode, outlets)])
            fsync = median(samples[("fsync", mode, outlets)]) if ("fsync", mode, outlets) in samples else None
            table.add_row(outlets, "Link.transfer" if mode == "standalone" else "in a planner", plain, staged,
                          f"{staged / plain:.2f}x", fsync if fsync else "-",
                          f"{fsync / plain:.2f}x" if fsync else "-")
    table.print()
    for outlets in (1, 2):
        for mode in ("standalone", "planner"):
            plain = median(samples[("plain", mode, outlets)])
            staged = median(samples[("staged", mode, outlets)])
            verdict(f"{outlets} outlet(s), {mode}: staged / unstaged", staged / plain, TARGET)
    return 0


if __name__ == "__main__":
    sys.exit(main())
