"""Producer and consumer apart across processes: one link fills a Redis stage, another
drains it, each on its own schedule, run by different workers; ``databay stage`` reads it."""

from __future__ import annotations

import json
import subprocess
import time

from cluster_run import DATABAY, Cluster, celery_pipeline

LINKS = """
[[links]]
tags = ["fill"]
interval = "150ms"
stage = {{ use = "redis", url = "${{REDIS_URL}}", key = "{name}:orders" }}
stage_role = "fill"
stage_outlets = ["JsonLines"]
inlets = [{{ use = "parts:Sequence", start = {start}, rate = 200, total = {total}, batch = 30 }}]

[[links]]
tags = ["drain"]
interval = "1s"
stage = {{ use = "redis", url = "${{REDIS_URL}}", key = "{name}:orders" }}
stage_role = "drain"
outlets = [{{ use = "parts:JsonLines", path = "{lines}" }}]
"""


def test_a_link_fills_and_another_drains_on_other_workers(tmp_path, redis_url, namespace):
    lines = tmp_path / "lines.jsonl"
    total = 600
    links = LINKS.format(name=namespace, start=time.time() + 2, total=total, lines=lines)
    cluster = Cluster(tmp_path, celery_pipeline(namespace, links), redis_url, namespace)
    try:
        for _ in range(2):
            cluster.start_worker()
        cluster.start_scheduler()
        deadline = time.monotonic() + 60
        numbers: list[int] = []
        while time.monotonic() < deadline and len(set(numbers)) < total:
            time.sleep(0.5)
            numbers = [json.loads(line)["n"] for line in lines.read_text().splitlines()] if lines.exists() else []
        stage = subprocess.run([DATABAY, "stage", str(cluster.pipeline)], cwd=tmp_path, env={**cluster.env, "COLUMNS": "200"},
                               capture_output=True, text=True)
    finally:
        cluster.stop()
    assert sorted(set(numbers)) == list(range(total)), cluster.logs()
    pids = {json.loads(line)["pid"] for line in lines.read_text().splitlines()}
    assert pids, "drained by workers"
    assert stage.returncode == 0, stage.stdout + stage.stderr
    assert "links[1] drain" in stage.stdout and "JsonLines" in stage.stdout, stage.stdout
    assert redis_url not in stage.stdout + stage.stderr
