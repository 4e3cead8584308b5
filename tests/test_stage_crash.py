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
import shutil
import time
from collections import Counter
from pathlib import Path

import pymongo
from databay.stage import Stage
from databay.testing import kill_at_random_moments

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stage_crash"
KILLS = 50


def test_sigkill_at_random_moments_loses_nothing(tmp_path, mongo_uri, installed):
    for name in ("crash.toml", "stage_crash_nodes.py"):
        shutil.copy(FIXTURES / name, tmp_path)
    database = f"crash_{os.getpid()}_{int(time.time())}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    env.update(MONGO_URI=mongo_uri, CRASH_DATABASE=database)
    kills = kill_at_random_moments([str(installed.bin / "databay"), "run", "crash.toml", "--no-live", "-qq"], KILLS,
                                   ready="ready", cwd=tmp_path, env=env)
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
    with Stage(tmp_path / "crash.stage") as stage:
        [produced] = [state["next"] for state in stage.inlet_states().values()]
    lines = (tmp_path / "out.txt").read_text().splitlines()
    in_file = Counter(int(line.removeprefix("{'seq': ").removesuffix("}")) for line in lines)
    file_duplicates = sum(in_file.values()) - len(in_file)
    mongo_duplicates = sum(in_mongo.values()) - len(in_mongo)
    print(f"\ncrash test (seed {kills.seed}): {KILLS} SIGKILLs of `databay run` in {kills.seconds:.1f} s, "
          f"{produced} sequence numbers produced; duplicates: file {file_duplicates}, MongoDB {mongo_duplicates}")
    assert produced > 1000, "too few sequence numbers to say much"
    assert set(in_file) == set(range(produced)), sorted(set(range(produced)) ^ set(in_file))[:20]
    assert set(in_mongo) == set(range(produced)), sorted(set(range(produced)) ^ set(in_mongo))[:20]
    assert mongo_duplicates == 0
