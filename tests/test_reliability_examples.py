"""The reliability examples run and do what their comments say."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_staged_link_example(tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / "staged_link.py")], capture_output=True, text=True,
                            cwd=tmp_path, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "1. First run: the warehouse is down; after 3 attempts its batch is dead-lettered.",
        "  pulled 2, dead-lettered 1",
        "  stage: Warehouse has 1 dead batch(es), 2 record(s); last error: ConnectionError: warehouse is down",
        "2. Restart: the position comes back from the stage, so only the new line is read.",
        "  stage: Warehouse has 2 dead batch(es), 3 record(s); last error: ConnectionError: warehouse is down",
        "3. The warehouse is back: replay the dead letters; the next transfer delivers them first.",
        "  replayed 2 batch(es)",
        "  warehouse took ['start', 'login alice']",
        "  warehouse took ['logout alice']",
        "  warehouse took ['login bob']",
        "copy.log: ['start', 'login alice', 'logout alice', 'login bob']",
    ]
    assert "dead-lettered 1 batch(es) in stage out/staged/link.stage after 3 attempt(s)" in result.stderr


def test_reliable_pipeline_example_copies_each_row_once(installed, tmp_path):
    (tmp_path / "examples" / "data").mkdir(parents=True)
    for name in ("reliable.toml", "data/readings.csv"):
        (tmp_path / "examples" / name).write_text((EXAMPLES / name).read_text())
    env = {"SMTP_HOST": "127.0.0.1"}
    assert installed.databay("validate", "examples/reliable.toml", cwd=tmp_path, env=env).returncode == 0
    for _ in range(2):  # the second run finds nothing new: the position came back from the stage
        result = installed.databay("run", "examples/reliable.toml", "--once", "--no-live", cwd=tmp_path, env=env)
        assert result.returncode == 0, result.stderr
    with open(tmp_path / "examples" / "data" / "readings.csv", "a") as f:
        f.write("garage,8.5\n")
    result = installed.databay("run", "examples/reliable.toml", "--once", "--no-live", cwd=tmp_path, env=env)
    assert "1 pulled, 1 pushed" in result.stdout
    copied = (tmp_path / "out" / "reliable" / "readings.csv").read_text().splitlines()
    assert copied == ["sensor,celsius", "kitchen,21.5", "cellar,12.0", "attic,27.25", "garage,8.5"]
