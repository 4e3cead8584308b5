"""Helpers shared by the benchmark scripts: timing, databay 0.3.0 runs, tables, verdicts."""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def median(values: Iterable[float]) -> float:
    """The median of ``values``."""
    return statistics.median(list(values))


def timed_pushes(outlet: Any, pushes: list[list[Any]]) -> tuple[float, float]:
    """Push each list of records of ``pushes`` to ``outlet``: the wall-clock and CPU seconds
    it took. Runs under databay 0.3.0 too."""
    from databay import Update

    update = Update(["bench"], 0)
    wall, cpu = time.perf_counter(), time.process_time()
    for records in pushes:
        outlet.push(records, update)
    return time.perf_counter() - wall, time.process_time() - cpu


def throughput_table(title: str, unit: str, count: int, labels: dict[str, str],
                     results: dict[str, list[tuple[float, float]]]) -> tuple[dict[str, float], dict[str, float]]:
    """Print a table of the writers of ``results`` (the wall-clock and CPU seconds of each of
    their rounds; writers without rounds are left out) side by side with ``"raw"``, the limit:
    medians of ``count`` ``unit`` per second and of client CPU seconds. Returns both, by writer."""
    wall = {k: median(w for w, _ in v) for k, v in results.items() if v}
    cpu = {k: median(c for _, c in v) for k, v in results.items() if v}
    rate = {k: count / w for k, w in wall.items()}
    table = Table(title, ["writer", f"{unit}/s", "x raw throughput", "client CPU s", "x raw CPU"])
    for key in wall:
        table.add_row(labels[key], rate[key], f"{rate[key] / rate['raw']:.2f}x", cpu[key],
                      f"{cpu[key] / cpu['raw']:.2f}x")
    table.print()
    return rate, cpu


def databay03_python() -> str | None:
    """The interpreter of the databay 0.3.0 venv (``$DATABAY03_PYTHON``), if prepared.

    Without one it says on stdout that databay 0.3.0's figures are left out, and returns ``None``.
    """
    path = os.environ.get("DATABAY03_PYTHON")
    if path and os.path.exists(path):
        return path
    print("DATABAY03_PYTHON is not set: databay 0.3.0 is left out (run through benchmarks/run.py)", flush=True)
    return None


def run_databay03(code: str, timeout: float = 600) -> Any:
    """Run ``code`` under databay 0.3.0 and return the JSON it printed on its last stdout line.

    It runs in this folder, so ``code`` can import the modules here that import only what
    databay 0.3.0 has too (``_dict_link``, ``_csv_writers``). Raises ``RuntimeError`` when the
    0.3.0 venv is missing or the code fails.
    """
    python = databay03_python()
    if python is None:
        raise RuntimeError("DATABAY03_PYTHON is not set: run the benchmarks through benchmarks/run.py")
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout, cwd=HERE)
    if result.returncode != 0:
        raise RuntimeError(f"databay 0.3.0 run failed (exit {result.returncode}):\n{result.stderr[-3000:]}")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    if not lines:
        raise RuntimeError(f"databay 0.3.0 run printed nothing:\n{result.stderr[-3000:]}")
    return json.loads(lines[-1])


@contextlib.contextmanager
def running_planner(link: Any) -> Iterator[Any]:
    """A ``SchedulePlanner`` running ``link`` on a thread of its own until the block ends."""
    from databay.planners import SchedulePlanner

    planner = SchedulePlanner(link, immediate_transfer=False)
    thread = threading.Thread(target=planner.start, daemon=True)
    thread.start()
    try:
        while not planner.running:
            time.sleep(0.01)
        yield planner
    finally:
        planner.shutdown()
        thread.join(30)


class Table:
    """A plain-text table printed to stdout (no dependency, readable in CI logs)."""

    def __init__(self, title: str, columns: list[str]):
        self.title = title
        self.columns = columns
        self.rows: list[list[str]] = []

    def add_row(self, *cells: Any) -> None:
        self.rows.append([_format(cell) for cell in cells])

    def print(self) -> None:
        widths = [max(len(str(c)), *(len(row[i]) for row in self.rows)) if self.rows else len(str(c))
                  for i, c in enumerate(self.columns)]
        line = "  ".join("-" * w for w in widths)
        print(f"\n{self.title}")
        print("  ".join(str(c).ljust(w) for c, w in zip(self.columns, widths)))
        print(line)
        for row in self.rows:
            print("  ".join(cell.rjust(w) if _numeric(cell) else cell.ljust(w) for cell, w in zip(row, widths)))
        print(flush=True)


def _format(cell: Any) -> str:
    if isinstance(cell, float):
        if cell == 0 or abs(cell) >= 100:
            return f"{cell:,.0f}"
        if abs(cell) >= 1:
            return f"{cell:.2f}"
        return f"{cell:.4f}"
    if isinstance(cell, int):
        return f"{cell:,}"
    return str(cell)


def _numeric(cell: str) -> bool:
    return cell.replace(",", "").replace(".", "", 1).lstrip("-").rstrip("x").isdigit()


def verdict(label: str, ratio: float, target: float, higher_is_better: bool = True) -> bool:
    """Print whether ``ratio`` meets ``target`` and return it."""
    met = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    print(f"TARGET {label}: {ratio:.2f} (target {sign} {target:g}) -> {'met' if met else 'NOT MET'}", flush=True)
    return met
