"""Transfer throughput: 1 inlet returning 1,000 small dict records into 1 and 2 outlets.

Side by side in one run, with ``copy_records=True`` and the very same inlet and outlet
source code for everyone:

- databay, ``Link.transfer()`` on its own (no planner);
- databay, ``Link.transfer()`` while a ``SchedulePlanner`` runs the link, so that the
  transfer runs on the planner's loop, its synchronous pull and pushes in the planner's
  thread pool;
- databay 0.3.0, ``Link.transfer()`` (in ``$DATABAY03_PYTHON``);
- the limit: a plain loop calling the same ``pull`` and ``push`` directly. It wraps each
  dict in a ``Record`` and gives every outlet but the last its own shallow copy of each
  (flat) dict, the least copying that still isolates the outlets from each other; with
  1 outlet it copies nothing.

Targets, with 1 and with 2 outlets: ``Link.transfer()`` at least 0.5x the plain loop, and
at least 10x databay 0.3.0. Everyone takes turns in each round, so that the machine's noise
hits all of them alike; the figures are medians.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, databay03_python, median, run_databay03, running_planner, verdict  # noqa: E402
from _dict_link import RECORDS, DictInlet, make_link, transfer_rates  # noqa: E402

ROUNDS = 3  # databay 0.3.0 and databay take turns, so that the machine's noise hits both
REPEATS = 3  # timed repeats per round
TARGET = 10.0  # x databay 0.3.0
TARGET_OF_LIMIT = 0.5  # x the plain loop

# The same code as here (_dict_link), run by databay 0.3.0.
DATABAY03_CODE = f"""
import json
from _dict_link import make_link, transfer_rates

print(json.dumps({{outlets: transfer_rates(make_link(outlets), 20, {REPEATS}) for outlets in (1, 2)}}))
"""


def databay_standalone(outlets: int) -> list[float]:
    return transfer_rates(make_link(outlets), 100, REPEATS)


def databay_engine(outlets: int) -> list[float]:
    """``Link.transfer()`` from this thread while a planner runs the link on its loop."""
    link = make_link(outlets)
    with running_planner(link):
        return transfer_rates(link, 100, REPEATS)


def plain_loop(outlets: int) -> list[float]:
    from databay import Record

    inlet = DictInlet()
    link = make_link(outlets)
    sinks = link.outlets
    last = len(sinks) - 1

    def transfer() -> None:
        records = [Record(payload) for payload in inlet.pull(None)]
        for index, outlet in enumerate(sinks):
            if index == last:
                outlet.push(records, None)
            else:
                outlet.push([Record(dict(r.payload)) for r in records], None)

    return transfer_rates(link, 1000, REPEATS, transfer)


def main() -> int:
    have_old = databay03_python() is not None
    measures = {"ours": databay_standalone, "engine": databay_engine, "limit": plain_loop}
    samples: dict[tuple[str, int], list[float]] = {}
    for round_ in range(ROUNDS):
        print(f"Round {round_ + 1} of {ROUNDS} ...", flush=True)
        if have_old:
            for outlets, values in run_databay03(DATABAY03_CODE).items():
                samples.setdefault(("old", int(outlets)), []).extend(values)
        for outlets in (1, 2):
            for name, measure in measures.items():
                samples.setdefault((name, outlets), []).extend(measure(outlets))
    table = Table(
        f"Transfers/s, 1 inlet x {RECORDS:,} dict records, copy_records=True "
        f"(median of {ROUNDS} rounds x {REPEATS})",
        ["outlets", "databay Link.transfer", "databay in planner", "databay 0.3.0", "plain loop",
         "x 0.3.0", "planner x 0.3.0", "of plain loop"],
    )
    results = {}
    for outlets in (1, 2):
        ours, engine, limit = (median(samples[(name, outlets)]) for name in ("ours", "engine", "limit"))
        base = median(samples[("old", outlets)]) if have_old else None
        results[outlets] = (ours, engine, base, limit)
        table.add_row(
            outlets, ours, engine, base if base else "-", limit,
            f"{ours / base:.1f}x" if base else "-", f"{engine / base:.1f}x" if base else "-",
            f"{ours / limit:.2f}",
        )
    table.print()
    for outlets, (ours, _, base, limit) in results.items():
        verdict(f"throughput, {outlets} outlet(s), databay Link.transfer / plain loop", ours / limit, TARGET_OF_LIMIT)
        if base:
            verdict(f"throughput, {outlets} outlet(s), databay Link.transfer / databay 0.3.0",
                    ours / base, TARGET)
    for outlets, (_, engine, base, _) in results.items():
        if base:
            print(f"(for information) {outlets} outlet(s), databay in a running planner / databay 0.3.0: "
                  f"{engine / base:.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
