"""Crash test: a staged pipeline through S3 killed with SIGKILL at random moments loses
nothing and duplicates nothing.

``databay run`` runs ``fixtures/crash.toml``: one link writes sequence numbers (20 per
transfer, every 20 ms) into S3 through a stage; a second link reads those objects back
with ``S3Inlet`` (its position kept in its own stage) and writes them to S3 again. The
process is killed with SIGKILL at random moments, again and again: while starting, mid-
transfer, mid-upload, mid-commit. Then ``databay run --once`` drains both stages without
producing anything new. Every number the first inlet committed must be in both copies
exactly once: a batch redelivered after a kill overwrites its object (stable keys), and
the inlet reads each object once across restarts (its position is committed with the
records it produced).
"""

from __future__ import annotations

import json
import os
import random
import selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent / "fixtures"
DATABAY = str(Path(sys.executable).parent / "databay")
KILLS = 30


def wait_for_line(process: subprocess.Popen, timeout: float) -> str | None:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if selector.select(timeout):
            return process.stdout.readline().strip()
    return None


def numbers(bucket, prefix: str) -> Counter:
    return Counter(json.loads(line)["seq"] for key in bucket.keys(prefix) for line in bucket.read(key).splitlines())


@pytest.mark.skipif(not os.path.exists(DATABAY), reason="needs the databay command of this environment")
def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path, endpoint, bucket):
    for name in ("crash.toml", "crash_nodes.py"):
        shutil.copy(FIXTURES / name, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    env.update(S3_ENDPOINT=endpoint, S3_BUCKET=bucket.name, PYTHONPATH=str(tmp_path))
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    began = time.monotonic()
    for _ in range(KILLS):
        process = subprocess.Popen([DATABAY, "run", "crash.toml", "--no-live", "-qq"], cwd=tmp_path, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if rng.random() < 0.15:
            time.sleep(rng.uniform(0, 0.8))  # while starting up: imports, checking, opening the stages
        else:
            assert wait_for_line(process, 60) == "ready", "the pipeline did not start"
            time.sleep(rng.uniform(0, 0.4))  # while transferring
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL, "the pipeline ended before it was killed"
    for _ in range(3):  # the first link drains, then the second reads what it wrote
        drain = subprocess.run([DATABAY, "run", "crash.toml", "--once", "--no-live"], cwd=tmp_path,
                               env={**env, "CRASH_PRODUCE": "no"}, capture_output=True, text=True, timeout=120)
        assert drain.returncode == 0, drain.stdout + drain.stderr
    report = subprocess.run([DATABAY, "stage", "crash.toml", "--json"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=60)
    links = json.loads(report.stdout)["links"]
    assert [(o["pending"], o["dead"]) for link in links for o in link["outlets"]] == [(None, None)] * 2, \
        "the stages are empty once drained"

    with sqlite3.connect(tmp_path / "seq.stage") as stage:
        produced = json.loads(stage.execute("SELECT state FROM inlet_states").fetchone()[0])["next"]
    written, copied = numbers(bucket, "seq/"), numbers(bucket, "copy/")
    print(f"\ncrash test (seed {seed}): {KILLS} SIGKILLs of `databay run` in {time.monotonic() - began:.1f} s, "
          f"{produced} sequence numbers produced in {len(bucket.keys('seq/'))} objects; duplicates: "
          f"written {sum(written.values()) - len(written)}, copied {sum(copied.values()) - len(copied)}")
    assert produced >= 400, "too few sequence numbers to say much"
    assert set(written) == set(range(produced)), sorted(set(range(produced)) ^ set(written))[:20]
    assert set(copied) == set(range(produced)), sorted(set(range(produced)) ^ set(copied))[:20]
    assert max(written.values()) == 1 and max(copied.values()) == 1, "no duplicates"
