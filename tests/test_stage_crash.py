"""Crash test: a staged pipeline killed with SIGKILL at random moments, again and again, loses nothing.

``databay run`` runs a pipeline (``fixtures/stage_crash/crash.toml``) whose link moves
sequence numbers (20 per transfer, every 10 ms) into a file (``file`` outlet) and into
MongoDB (``mongo`` outlet with ``idempotent = true``, against nx-27017), through a stage.
It is killed with SIGKILL at a random moment, at least 50 times: while starting, mid-
transfer, mid-commit, mid-push. Then ``databay run --once`` runs it once more without
producing anything new, and the stage must be empty. Every sequence number the inlet
committed must be in both outlets; duplicates are counted and printed (the file may have a
few: a batch written but not yet acknowledged when the process died is written again;
MongoDB has none: redelivered documents keep their ``_id``).
"""

from __future__ import annotations

import json
import os
import random
import selectors
import shutil
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pymongo

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stage_crash"
KILLS = 50


def wait_for_line(process: subprocess.Popen, timeout: float) -> str | None:
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if selector.select(timeout):
            return process.stdout.readline().strip()
    return None


def test_sigkill_at_random_moments_loses_nothing(tmp_path, mongo_uri, installed):
    for name in ("crash.toml", "stage_crash_nodes.py"):
        shutil.copy(FIXTURES / name, tmp_path)
    database = f"crash_{os.getpid()}_{int(time.time())}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    env.update(MONGO_URI=mongo_uri, CRASH_DATABASE=database)
    databay = str(installed.bin / "databay")
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    began = time.monotonic()
    for _ in range(KILLS):
        process = subprocess.Popen([databay, "run", "crash.toml", "--no-live", "-qq"], cwd=tmp_path, env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if rng.random() < 0.15:
            time.sleep(rng.uniform(0, 0.4))  # while starting up: imports, checking, opening the stage
        else:
            assert wait_for_line(process, 30) == "ready", "the pipeline did not start"
            time.sleep(rng.uniform(0, 0.25))  # while transferring
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        assert process.returncode == -signal.SIGKILL, "the pipeline ended before it was killed"
    drain = installed.databay("run", "crash.toml", "--once", "--no-live", cwd=tmp_path,
                              env={**env, "CRASH_PRODUCE": "no"})
    assert drain.returncode == 0, drain.stdout + drain.stderr
    report = json.loads(installed.databay("stage", "crash.toml", "--json", cwd=tmp_path, env=env).stdout)
    [link] = report["links"]
    assert [(o["outlet"], o["pending"], o["dead"]) for o in link["outlets"]] == [
        ("FileOutlet", None, None), ("MongoOutlet", None, None)], "the stage is empty once drained"

    with pymongo.MongoClient(mongo_uri) as client:
        in_mongo = Counter(d["seq"] for d in client[database]["sequence"].find({}, {"seq": 1}))
        client.drop_database(database)
    import sqlite3

    with sqlite3.connect(tmp_path / "crash.stage") as stage:
        produced = json.loads(stage.execute("SELECT state FROM inlet_states").fetchone()[0])["next"]
    lines = (tmp_path / "out.txt").read_text().splitlines()
    in_file = Counter(int(line.removeprefix("{'seq': ").removesuffix("}")) for line in lines)
    file_duplicates = sum(in_file.values()) - len(in_file)
    mongo_duplicates = sum(in_mongo.values()) - len(in_mongo)
    print(f"\ncrash test (seed {seed}): {KILLS} SIGKILLs of `databay run` in {time.monotonic() - began:.1f} s, "
          f"{produced} sequence numbers produced; duplicates: file {file_duplicates}, MongoDB {mongo_duplicates}")
    assert produced > 1000, "too few sequence numbers to say much"
    assert set(in_file) == set(range(produced)), sorted(set(range(produced)) ^ set(in_file))[:20]
    assert set(in_mongo) == set(range(produced)), sorted(set(range(produced)) ^ set(in_mongo))[:20]
    assert mongo_duplicates == 0
