"""Scheduling lateness: how late transfers start when thousands of links fall due at once.

Every link is due once a second on one shared grid (``immediate_transfer=False``: all of
them first due one interval after the start). The lateness of a transfer is the moment its
inlet's ``pull`` begins minus its due time **on that shared grid**, so a link that is late
in every burst (the last one a burst gets to) counts as late every time. The bare loop knows
its grid; databay's ``SchedulePlanner`` says where its grid is (``planner.next_due(link)``).
For the planners that don't (``ApsPlanner`` times links with APScheduler, databay 0.3.0),
the grid's origin is taken as the earliest moment any burst's first pull began (minus its
k intervals), which can only make them look less late.

CPU per second is the process's CPU time from the first transfer to the end of the run,
over that time: one-time start-up work (starting 20,000 nodes) is left out.

Two scenarios, each run in fresh processes for ``DURATION`` seconds:

- 10,000 links with asynchronous no-op inlets and outlets. The limit is a bare asyncio loop
  that, at each due time, starts the same pulls and pushes: one task per link awaiting
  ``pull`` then ``push`` (no databay). Target: databay's ``SchedulePlanner`` p99 at most
  1.5x the bare loop's, with CPU per second at most 1.5x.
- 1,000 links with synchronous no-op inlets and outlets. The limit is a bare loop that runs
  each link's ``pull`` and ``push`` in a 30-thread pool (``run_in_executor``) at each due
  time. Target: databay at or below it (p99 at most 1.0x).

The bare loop and databay take turns (``REPEATS`` each, alternating); the table gives
medians and the ratio of the medians. ``ApsPlanner`` (when databay-aps is installed) and
databay 0.3.0's planners run once each, for information.

Also printed, for continuity with the earlier figures, the old measure (each link's k-th
transfer against its own first transfer plus k intervals, which hides a link late in every
burst) and its targets (databay p99 at most 10 ms with 1,000 links, 25 ms with 10,000).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import Table, databay03_python, median, verdict  # noqa: E402

DURATION = float(os.environ.get("LATENESS_DURATION", "10"))
REPEATS = int(os.environ.get("LATENESS_REPEATS", "3"))
INTERVAL = 1.0
SCENARIOS = ((10000, "async", 1.5), (1000, "sync", 1.0))  # links, nodes, target p99 x the bare loop
CPU_TARGET = 1.5  # async scenario: CPU per second x the bare loop's
OLD_TARGETS_MS = {1000: 10.0, 10000: 25.0}

# Runs in a fresh process; PARAMS is prepended as a JSON literal. It must run under
# databay 0.3.0 too (no databay import before the planner is chosen).
SCENARIO = """
import asyncio
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor

N, INTERVAL, DURATION, KIND, WHO = (PARAMS[key] for key in ("n", "interval", "duration", "kind", "who"))
starts = [[] for _ in range(N)]
grid_origin = []  # a due time of the shared grid, when the scheduler tells
steady = []  # (time, CPU time) when the first transfer started: one-time start-up costs excluded


def record(i):
    now = time.monotonic()
    if not steady:
        steady.append((now, time.process_time()))
    starts[i].append(now)


if WHO == "bare loop":
    BenchInlet = BenchOutlet = object
else:
    from databay import Inlet as BenchInlet, Outlet as BenchOutlet

if KIND == "sync":
    class NoOpInlet(BenchInlet):
        def __init__(self, i):
            super().__init__()
            self.i = i

        def pull(self, update):
            record(self.i)
            return 1

    class NoOpOutlet(BenchOutlet):
        def push(self, records, update):
            pass
else:
    class NoOpInlet(BenchInlet):
        def __init__(self, i):
            super().__init__()
            self.i = i

        async def pull(self, update):
            record(self.i)
            return 1

    class NoOpOutlet(BenchOutlet):
        async def push(self, records, update):
            pass

inlets = [NoOpInlet(i) for i in range(N)]
outlets = [NoOpOutlet() for _ in range(N)]


def bare_loop():
    loop = asyncio.new_event_loop()
    pool = ThreadPoolExecutor(30)
    if KIND == "sync":
        def one(i):
            outlets[i].push([inlets[i].pull(None)], None)

        def fire(due):
            for i in range(N):
                loop.run_in_executor(pool, one, i)
            loop.call_at(due + INTERVAL, fire, due + INTERVAL)
    else:
        async def one(i):
            await outlets[i].push([await inlets[i].pull(None)], None)

        def fire(due):
            for i in range(N):
                loop.create_task(one(i))
            loop.call_at(due + INTERVAL, fire, due + INTERVAL)
    first = loop.time() + INTERVAL  # asyncio's clock is time.monotonic()
    grid_origin.append(first)
    loop.call_at(first, fire, first)
    loop.call_later(DURATION, loop.stop)
    loop.run_forever()
    end = (time.monotonic(), time.process_time())
    pool.shutdown(wait=True, cancel_futures=True)
    for task in asyncio.all_tasks(loop):
        task.cancel()  # the burst the stop cut short
    loop.close()
    return end


def planner_run():
    import logging

    import databay.planners as planners
    from databay import Link

    logging.getLogger("databay").setLevel(logging.ERROR)
    links = [Link(inlets[i], outlets[i], interval=INTERVAL, tags=f"l{i}") for i in range(N)]
    planner = getattr(planners, WHO)(links, immediate_transfer=False)
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    next_due = getattr(planner, "next_due", None)
    started = time.monotonic()
    while next_due is not None and time.monotonic() < started + 60:
        due = next_due(links[0])
        if due is not None:
            grid_origin.append(due)
            break
        time.sleep(0.001)
    time.sleep(max(0.0, DURATION - (time.monotonic() - started)))
    end = (time.monotonic(), time.process_time())
    planner.shutdown(wait=False)
    thread.join(60)
    return end


end = bare_loop() if WHO == "bare loop" else planner_run()
cpu_per_s = (end[1] - steady[0][1]) / (end[0] - steady[0][0]) if steady else None
runs = [times for times in starts if times]
first = min(times[0] for times in runs)
burst_start = {}
for times in runs:
    for t in times:
        k = round((t - first) / INTERVAL)
        burst_start[k] = min(burst_start.get(k, t), t)
origin = grid_origin[0] if grid_origin else min(t - k * INTERVAL for k, t in burst_start.items())
# Each start belongs to the latest due time at or before it (1 ms of clock jitter allowed):
# lateness is between 0 and one interval (a planner later than that also runs fewer transfers).
grid = sorted(t - (origin + math.floor((t - origin + 0.001) / INTERVAL) * INTERVAL) for times in runs for t in times)
own = sorted(times[k] - (times[0] + k * INTERVAL) for times in runs for k in range(1, len(times)))


def quantile(values, q):
    return 1000 * values[min(len(values) - 1, int(len(values) * q))] if values else None


print(json.dumps({
    "p50": quantile(grid, 0.5), "p99": quantile(grid, 0.99), "max": quantile(grid, 1.0),
    "old_p99": quantile(own, 0.99), "transfers": len(grid), "bursts": len(burst_start),
    "expected": N * len(burst_start), "cpu_per_s": cpu_per_s, "grid_known": bool(grid_origin),
}))
"""


def run_scenario(python: str, n: int, kind: str, who: str, timeout: float) -> dict | str:
    """One run in a fresh ``python`` process: its figures, or why there are none."""
    params = {"n": n, "interval": INTERVAL, "duration": DURATION, "kind": kind, "who": who}
    code = f"PARAMS = {json.dumps(params)}\n{SCENARIO}"
    try:
        result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return f"did not finish in {timeout:.0f} s"
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        error = result.stderr.strip().splitlines()
        return f"failed: {error[-1] if error else result.returncode}"
    return json.loads(lines[-1])


def our_aps_available() -> bool:
    try:
        from databay.planners import ApsPlanner  # noqa: F401
    except ImportError:
        return False
    return True


def medians(results: list[dict]) -> dict:
    return {key: median(r[key] for r in results) for key in ("p50", "p99", "max", "old_p99", "cpu_per_s")} | {
        "transfers": sum(r["transfers"] for r in results), "expected": sum(r["expected"] for r in results)}


def main() -> int:
    old = databay03_python()
    aps = our_aps_available()
    if not aps:
        print("databay-aps is not installed: no figures for databay's ApsPlanner")
    for n, kind, target in SCENARIOS:
        limit_label = "bare loop" if kind == "async" else "bare loop, 30-thread pool"
        print(f"  {n:,} {kind} links: bare loop and SchedulePlanner, {REPEATS} runs each ...", flush=True)
        paired: dict[str, list[dict]] = {"bare loop": [], "SchedulePlanner": []}
        failures: dict[str, str] = {}
        for _ in range(REPEATS):
            for who in paired:
                result = run_scenario(sys.executable, n, kind, who, DURATION + 90)
                if isinstance(result, str):
                    failures[who] = result
                else:
                    paired[who].append(result)
        rows: list[tuple[str, dict | str]] = [
            (limit_label, medians(paired["bare loop"]) if paired["bare loop"] else failures["bare loop"]),
            ("databay SchedulePlanner",
             medians(paired["SchedulePlanner"]) if paired["SchedulePlanner"] else failures["SchedulePlanner"]),
        ]
        once = []
        if aps:
            once.append(("databay ApsPlanner", sys.executable, "ApsPlanner"))
        if old:
            once += [("databay 0.3.0 SchedulePlanner", old, "SchedulePlanner"),
                     ("databay 0.3.0 ApsPlanner", old, "ApsPlanner")]
        for label, python, who in once:
            print(f"  {n:,} {kind} links: {label} ...", flush=True)
            rows.append((label, run_scenario(python, n, kind, who, DURATION + (60 if n <= 1000 else 150))))
        floor = rows[0][1]
        table = Table(
            f"Lateness against the shared grid, {n:,} links ({kind} no-op inlet and outlet), due every "
            f"{INTERVAL:g} s, {DURATION:g} s runs (bare loop and SchedulePlanner: medians of {REPEATS})",
            ["scheduler", "p50 ms", "p99 ms", "max ms", "p99 x limit", "CPU s/s", "CPU x limit",
             "old measure p99 ms", "transfers run"],
        )
        for label, result in rows:
            if isinstance(result, str):
                table.add_row(label, result, "-", "-", "-", "-", "-", "-", "-")
                continue
            ratio = f"{result['p99'] / floor['p99']:.2f}x" if isinstance(floor, dict) and floor["p99"] else "-"
            cpu_ratio = (f"{result['cpu_per_s'] / floor['cpu_per_s']:.2f}x"
                         if isinstance(floor, dict) and floor["cpu_per_s"] else "-")
            share = f"{100 * result['transfers'] / result['expected']:.0f}%" if result["expected"] else "-"
            estimated = "" if result.get("grid_known", True) else " (grid estimated)"
            table.add_row(label + estimated, result["p50"], result["p99"], result["max"], ratio, result["cpu_per_s"],
                          cpu_ratio, result["old_p99"], share)
        table.print()
        ours = rows[1][1]
        if isinstance(ours, dict) and isinstance(floor, dict):
            verdict(f"SchedulePlanner p99 lateness x {limit_label}, {n:,} {kind} links", ours["p99"] / floor["p99"],
                    target, higher_is_better=False)
            if kind == "async":
                verdict(f"SchedulePlanner CPU per second x bare loop, {n:,} {kind} links",
                        ours["cpu_per_s"] / floor["cpu_per_s"], CPU_TARGET, higher_is_better=False)
            verdict(f"(old measure) SchedulePlanner p99 lateness ms, {n:,} links", ours["old_p99"], OLD_TARGETS_MS[n],
                    higher_is_better=False)
        else:
            print(f"TARGET SchedulePlanner lateness, {n:,} links: no result -> NOT MET")
    return 0


if __name__ == "__main__":
    sys.exit(main())
