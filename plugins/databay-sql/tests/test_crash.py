"""Crash test: a staged SQL-to-SQL pipeline killed with SIGKILL at random moments loses nothing.

``databay run`` runs a pipeline whose link reads a source table (``SqlInlet``, cursor ``seq``,
20 rows per pull, every 10 ms) through a stage into two tables: ``copy`` by upsert on its
primary key, and ``log`` by plain insert (no key). It is killed with SIGKILL at a random
moment, again and again: while starting (15% of the runs), or once it has copied rows, a
random moment later: mid-pull, mid-commit, mid-push. Then one
``databay run --once`` drains the rest. Every source row must be in ``copy`` exactly once,
and the stage must be empty. ``log`` shows what an insert does instead: a batch written but
not yet acknowledged when the process died is written again (its duplicates are counted and
printed, not asserted).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from databay.stage import Stage
from databay.testing import kill_at_random_moments

KILLS = 25
ROWS = 20000

PIPELINE = """
[planner]
ignore_exceptions = true

[[links]]
tags = ["crash"]
interval = "10ms"
stage = "crash.stage"
inlets = [{ use = "sql", url = "sqlite:///source.db", table = "source", cursor = "seq", batch_size = "${BATCH:-20}" }]
outlets = [
  { use = "sql", url = "${TARGET_URL}", table = "copy", mode = "upsert", key = "seq", timeout = 5 },
  { use = "sql", url = "${TARGET_URL}", table = "log", timeout = 5 },
]
"""


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """The database the pipeline writes to, with its tables ``copy`` and ``log``."""
    db = request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")
    db.create_table("copy", sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
                    sa.Column("payload", sa.String(40)))
    db.create_table("log", sa.Column("seq", sa.Integer), sa.Column("payload", sa.String(40)))
    return db


def copied_rows(target) -> int:
    with target.engine.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM copy")).scalar_one()


def test_sigkill_at_random_moments_loses_nothing_and_upserts_no_duplicate(tmp_path, target):
    with sqlite3.connect(tmp_path / "source.db") as source:
        source.execute("CREATE TABLE source (seq INTEGER PRIMARY KEY, payload TEXT)")
        source.executemany("INSERT INTO source VALUES (?, ?)", [(n, f"row {n}") for n in range(ROWS)])
    (tmp_path / "crash.toml").write_text(PIPELINE)
    databay = str(Path(sys.executable).parent / "databay")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    env["TARGET_URL"] = target.url
    copied_before = [copied_rows(target)]  # before each run

    def copied_more() -> bool:  # ready: the run copied rows
        return copied_rows(target) > copied_before[-1]

    kills = kill_at_random_moments([databay, "run", "crash.toml", "--no-live", "-qq"], KILLS, ready=copied_more,
                                   cwd=tmp_path, env=env, after_kill=lambda: copied_before.append(copied_rows(target)))
    with Stage(tmp_path / "crash.stage") as stage:
        [committed] = [state["after"][0] + 1 for state in stage.inlet_states().values()]

    drain = subprocess.run([databay, "run", "crash.toml", "--once", "--no-live"], cwd=tmp_path,
                           env={**env, "BATCH": str(ROWS)}, capture_output=True, text=True, timeout=120)
    assert drain.returncode == 0, drain.stdout + drain.stderr
    report = json.loads(subprocess.run([databay, "stage", "crash.toml", "--json"], cwd=tmp_path, env=env,
                                       capture_output=True, text=True, timeout=60).stdout)
    [link] = report["links"]
    assert [(o["outlet"], o["pending"], o["dead"]) for o in link["outlets"]] == [
        ("SqlOutlet", None, None), ("SqlOutlet#2", None, None)], "the stage is empty once drained"

    copied = Counter(row["seq"] for row in target.rows("copy"))
    logged = Counter(row["seq"] for row in target.rows("log"))
    print(f"\ncrash test on {target.dialect} (seed {kills.seed}): {KILLS} SIGKILLs of `databay run` in "
          f"{kills.seconds:.1f} s, {committed} of {ROWS} rows committed before the drain; "
          f"duplicates: upsert {sum(copied.values()) - len(copied)}, insert {sum(logged.values()) - len(logged)}")
    assert committed > 300, "too few rows moved under the kills to say much"
    assert set(copied) == set(range(ROWS)), sorted(set(range(ROWS)) ^ set(copied))[:20]
    assert max(copied.values()) == 1
    assert set(logged) == set(range(ROWS)), "the insert outlet lost rows"
    assert [row["payload"] for row in target.rows("copy", "seq")] == [f"row {n}" for n in range(ROWS)]
