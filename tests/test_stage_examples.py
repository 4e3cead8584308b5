"""examples/kept_batches.toml runs and keeps what it delivered, for `databay stage` to export."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_kept_batches_are_exported_as_delivered(installed, tmp_path):
    shutil.copytree(EXAMPLES / "data", tmp_path / "examples" / "data")
    pipeline = str(EXAMPLES / "kept_batches.toml")
    run = installed.databay("run", pipeline, "--once", "--no-live", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    exported = installed.databay("stage", pipeline, "--export", "out/kept.jsonl", "--state", "delivered",
                                 cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    rows = [json.loads(line) for line in (tmp_path / "out" / "kept.jsonl").read_text().splitlines()]
    with open(tmp_path / "examples" / "data" / "readings.csv", newline="") as file:
        readings = list(csv.DictReader(file))
    assert [row["payload"] for row in rows] == readings
    assert {row["state"] for row in rows} == {"delivered"}
    listed = installed.databay("stage", pipeline, "--list", "--json", cwd=tmp_path)
    assert [b["state"] for b in json.loads(listed.stdout)["batches"]] == ["delivered"]
