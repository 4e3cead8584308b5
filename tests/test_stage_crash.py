"""Crash test: a staged link killed with SIGKILL at random moments, again and again, loses nothing.

A link of sequence numbers (20 per transfer, every 10 ms) into a file (``FileOutlet``)
and into MongoDB (``MongoOutlet(idempotent=True)``, against nx-27017) is started and
killed at a random moment, at least 50 times: before its planner runs, mid-transfer,
mid-commit, mid-push. Then it runs once more without producing anything new, until its
stage is empty. Every sequence number the inlet committed must be in both outlets;
duplicates are counted and printed (the file may have some: a batch written but not yet
acknowledged when the process died is written again; MongoDB has none: redelivered
documents keep their ``_id``).
"""

from __future__ import annotations

import random
import selectors
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pymongo
import pytest
from databay_mongo.testing import external_test_uri, running_server

CHILD = Path(__file__).resolve().parent / "fixtures" / "stage_crash_child.py"
KILLS = 50


@pytest.fixture(scope="module")
def mongo_uri():
    external = external_test_uri()
    if external is not None:
        yield external
        return
    with running_server() as uri:
        yield uri


def start(stage: Path, output: Path, uri: str, database: str, mode: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(CHILD), str(stage), str(output), uri, database, mode],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def wait_for_line(process: subprocess.Popen, timeout: float) -> str | None:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if selector.select(timeout):
            return process.stdout.readline().strip()
    return None


def test_sigkill_at_random_moments_loses_nothing(tmp_path, mongo_uri):
    stage, output = tmp_path / "crash.stage", tmp_path / "out.txt"
    database = f"crash_{int(time.time())}"
    rng = random.Random()
    seed = rng.randrange(1 << 30)
    rng.seed(seed)
    began = time.monotonic()
    for _ in range(KILLS):
        process = start(stage, output, mongo_uri, database, "run")
        if rng.random() < 0.15:
            time.sleep(rng.uniform(0, 0.3))  # while starting up: imports, opening the stage
        else:
            assert wait_for_line(process, 30) == "ready"
            time.sleep(rng.uniform(0, 0.25))  # while transferring
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL, "the child ended before it was killed"
    drain = start(stage, output, mongo_uri, database, "drain")
    out, _ = drain.communicate(timeout=90)
    assert drain.returncode == 0, out
    produced = int(out.strip().rsplit("next=", 1)[1])

    lines = output.read_text().splitlines()
    in_file = Counter(int(line.removeprefix("{'seq': ").removesuffix("}")) for line in lines)
    with pymongo.MongoClient(mongo_uri) as client:
        in_mongo = Counter(d["seq"] for d in client[database]["sequence"].find({}, {"seq": 1}))
        client.drop_database(database)
    file_duplicates = sum(in_file.values()) - len(in_file)
    mongo_duplicates = sum(in_mongo.values()) - len(in_mongo)
    print(f"\ncrash test (seed {seed}): {KILLS} SIGKILLs in {time.monotonic() - began:.1f} s, {produced} sequence "
          f"numbers produced; duplicates: file {file_duplicates}, MongoDB {mongo_duplicates}")
    assert produced > 1000, "too few sequence numbers to say much"
    assert set(in_file) == set(range(produced)), sorted(set(range(produced)) ^ set(in_file))[:20]
    assert set(in_mongo) == set(range(produced)), sorted(set(range(produced)) ^ set(in_mongo))[:20]
    assert mongo_duplicates == 0
