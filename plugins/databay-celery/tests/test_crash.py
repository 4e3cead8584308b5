"""Crash test: 3 workers and 2 schedulers run a staged link (Redis stage) from a growing
source into an idempotent and a non-idempotent outlet, while workers and the leading
scheduler are killed with SIGKILL at random moments. Then: every record in both outlets,
none malformed, duplicates only in the outlet that is not idempotent.

20 worker kills and 5 scheduler kills, about a minute. DATABAY_CELERY_CRASH_SCALE=N multiplies
both (a longer soak); DATABAY_CELERY_CRASH_SEED picks other random moments.
"""

from __future__ import annotations

import json
import os
import random
import sqlite3
import time

from cluster_run import Cluster, celery_pipeline

SCALE = int(os.environ.get("DATABAY_CELERY_CRASH_SCALE", "1"))
WORKER_KILLS, SCHEDULER_KILLS = 20 * SCALE, 5 * SCALE
RATE = 100  # records a second

LINKS = """
[[links]]
tags = ["seq"]
interval = "200ms"
stage = {{ use = "redis", url = "${{REDIS_URL}}", key = "{name}:seq" }}
inlets = [{{ use = "parts:Sequence", start = {start}, rate = {rate}, total = {total}, batch = 40 }}]
outlets = [
  {{ use = "parts:JsonLines", path = "{lines}" }},
  {{ use = "parts:SqliteSet", path = "{db}" }},
]
"""


def test_nothing_lost_when_workers_and_schedulers_are_killed(tmp_path, redis_url, namespace, record_property):
    rng = random.Random(int(os.environ.get("DATABAY_CELERY_CRASH_SEED", "16")))
    kills = ["worker"] * WORKER_KILLS + ["scheduler"] * SCHEDULER_KILLS
    rng.shuffle(kills)
    seconds = len(kills) * 2.0 + 4
    total = int(seconds * RATE)
    lines, db = tmp_path / "lines.jsonl", tmp_path / "set.sqlite"
    links = LINKS.format(name=namespace, start=time.time() + 3, rate=RATE, total=total, lines=lines, db=db)
    cluster = Cluster(tmp_path, celery_pipeline(namespace, links), redis_url, namespace)
    try:
        workers = [cluster.start_worker() for _ in range(3)]
        schedulers = [cluster.start_scheduler() for _ in range(2)]
        cluster.wait_for_leader()
        for kind in kills:
            time.sleep(rng.uniform(0.5, 3.0))
            if kind == "worker":
                index = rng.randrange(len(workers))
                cluster.kill(workers[index])
                workers[index] = cluster.start_worker()
            else:
                leader = cluster.wait_for_leader()
                (victim,) = [s for s in schedulers if s.pid == leader]
                cluster.kill(victim)
                schedulers[schedulers.index(victim)] = cluster.start_scheduler()
        deadline = time.monotonic() + max(90.0, seconds)
        while time.monotonic() < deadline and len(set(_numbers(db))) < total:
            time.sleep(0.5)
    finally:
        cluster.stop()

    written = _lines(lines)
    malformed = [line for line in written if not isinstance(line, dict)]
    in_lines = [line["n"] for line in written if isinstance(line, dict)]
    in_set = _numbers(db)
    lost_lines = set(range(total)) - set(in_lines)
    lost_set = set(range(total)) - set(in_set)
    duplicates = len(in_lines) - len(set(in_lines))
    summary = (f"{total} records, {WORKER_KILLS} worker and {SCHEDULER_KILLS} scheduler kills: lost "
               f"{len(lost_lines)}/{len(lost_set)}, malformed {len(malformed)}, duplicates JsonLines {duplicates}, "
               f"SqliteSet {len(in_set) - len(set(in_set))}; skipped slots {cluster.counts('skipped')}")
    print(summary)
    record_property("crash", summary)
    assert not malformed, malformed[:5]
    assert not lost_lines and not lost_set, f"{summary}\n{cluster.logs()}"
    assert len(in_set) == len(set(in_set)), "the idempotent outlet has a record twice: it was staged twice"
    assert all(number < total for number in in_lines)


def _lines(path) -> list:
    found: list = []
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            found.append(json.loads(line))
        except ValueError:
            found.append(line)
    return found


def _numbers(path) -> list[int]:
    if not path.exists():
        return []
    connection = sqlite3.connect(path, timeout=60)
    try:
        return [n for (n,) in connection.execute("SELECT n FROM records")]
    except sqlite3.OperationalError:
        return []
    finally:
        connection.close()
