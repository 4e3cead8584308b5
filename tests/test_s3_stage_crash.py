"""Crash test: a staged pipeline through S3 killed with SIGKILL at random moments loses
nothing and duplicates nothing.

``databay run`` runs ``fixtures/stage_crash/s3_crash.toml`` against moto (a subprocess on
a loopback port): one link writes sequence numbers (20 per transfer, every 20 ms) into S3
through a stage; a second link reads those objects back with ``S3Inlet`` (its position
kept in its own stage) and writes them to S3 again. The
process is killed with SIGKILL at random moments, again and again: while starting, mid-
transfer, mid-upload, mid-commit. Then ``databay run --once`` drains both stages without
producing anything new. Every number the first inlet committed must be in both copies
exactly once: a batch redelivered after a kill overwrites its object (stable keys: the
time and transfer in them are those of the batch's commit, ``Stage.BATCH_TIME`` and
``Stage.BATCH_UPDATE``, although every new process numbers its transfers from 0 again), and
the inlet reads each object once across restarts (its position is committed with the
records it produced).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from pathlib import Path

import boto3
import pytest
from databay.stage import Stage
from databay.testing import kill_at_random_moments

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "stage_crash"
KILLS = 30


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server, and a boto3 client of it with the credentials the pipeline gets too."""
    from databay_s3.testing import TEST_CREDENTIALS, running_server

    with running_server() as endpoint:
        client = boto3.client("s3", endpoint_url=endpoint, region_name=TEST_CREDENTIALS["AWS_DEFAULT_REGION"],
                              aws_access_key_id=TEST_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                              aws_secret_access_key=TEST_CREDENTIALS["AWS_SECRET_ACCESS_KEY"])
        client.create_bucket(Bucket="crash")
        yield client
        client.close()


def numbers(s3, prefix: str) -> tuple[int, Counter]:
    """How many objects are under ``prefix``, and how often each sequence number is in them."""
    keys = [entry["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="crash", Prefix=prefix)
            for entry in page.get("Contents", [])]
    found = Counter(json.loads(line)["seq"] for key in keys
                    for line in s3.get_object(Bucket="crash", Key=key)["Body"].read().splitlines())
    return len(keys), found


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_nothing(tmp_path, installed, s3):
    from databay_s3.testing import TEST_CREDENTIALS

    for name in ("s3_crash.toml", "stage_crash_nodes.py"):
        shutil.copy(FIXTURES / name, tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABAY_", "AWS_"))}
    env.update(TEST_CREDENTIALS, S3_ENDPOINT=s3.meta.endpoint_url, S3_BUCKET="crash")
    kills = kill_at_random_moments([str(installed.bin / "databay"), "run", "s3_crash.toml", "--no-live", "-qq"], KILLS,
                                   ready="ready", cwd=tmp_path, env=env, starting_window=0.8, running_window=0.4,
                                   ready_timeout=60)
    for _ in range(3):  # the first link drains, then the second reads what it wrote
        drain = installed.databay("run", "s3_crash.toml", "--once", "--no-live", cwd=tmp_path,
                                  env={**env, "CRASH_PRODUCE": "no"})
        assert drain.returncode == 0, drain.stdout + drain.stderr
    links = json.loads(installed.databay("stage", "s3_crash.toml", "--json", cwd=tmp_path, env=env).stdout)["links"]
    assert [(o["pending"], o["dead"]) for link in links for o in link["outlets"]] == [(None, None)] * 2, \
        "the stages are empty once drained"

    with Stage(tmp_path / "seq.stage") as stage:
        [produced] = [state["next"] for state in stage.inlet_states().values()]
    objects, written = numbers(s3, "seq/")
    copies, copied = numbers(s3, "copy/")
    assert numbers(s3, "")[0] == objects + copies, "nothing but the data: one object per batch"
    print(f"\nS3 crash test (seed {kills.seed}): {KILLS} SIGKILLs of `databay run` in {kills.seconds:.1f} s, "
          f"{produced} sequence numbers produced in {objects} objects; duplicates: "
          f"written {sum(written.values()) - len(written)}, copied {sum(copied.values()) - len(copied)}")
    assert produced >= 400, "too few sequence numbers to say much"
    assert set(written) == set(range(produced)), sorted(set(range(produced)) ^ set(written))[:20]
    assert set(copied) == set(range(produced)), sorted(set(range(produced)) ^ set(copied))[:20]
    assert max(written.values()) == 1 and max(copied.values()) == 1, "no duplicates"
