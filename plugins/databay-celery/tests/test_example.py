"""examples/scale-out/pipeline.toml is valid and runs on a scheduler and two workers."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from cluster_run import DATABAY, Cluster

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "scale-out" / "pipeline.toml"


def test_the_example_validates(redis_url, tmp_path):
    result = subprocess.run([DATABAY, "validate", str(EXAMPLE)], capture_output=True, text=True, cwd=tmp_path,
                            env={**os.environ, "REDIS_URL": redis_url})
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_example_runs(redis_url, tmp_path, namespace):
    text = EXAMPLE.read_text().replace('name = "dice"', f'name = "{namespace}"').replace('key = "dice:',
                                                                                       f'key = "{namespace}:')
    text = text.replace('interval = "10s"', 'interval = "2s"')
    cluster = Cluster(tmp_path, text, redis_url, namespace)
    try:
        cluster.start_worker()
        cluster.start_worker()
        cluster.start_scheduler()
        out = tmp_path / "out"
        deadline = time.monotonic() + 60
        files = [out / name for name in ("rolls.txt", "batched.txt", "ticks.txt")]
        while time.monotonic() < deadline and not all(path.exists() for path in files):
            time.sleep(0.5)
    finally:
        cluster.stop()
    for path in files:
        assert path.read_text().strip(), cluster.logs()
    shutil.rmtree(out)
