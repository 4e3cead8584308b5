"""The dashboard of databay-web on the scheduler of databay-celery: `databay run PIPELINE --web`
with the Celery planner serves what the scheduler knows (its links, their schedules and next
slots, the slots it skipped, whether it leads) and says that the transfers run on the
workers, rather than counting none. Real processes on a real redis-server."""

from __future__ import annotations

import datetime
import json
import os
import re
import signal
import subprocess
import threading
import urllib.error
import urllib.request
import uuid

import pytest

pytest.importorskip("databay_celery")
pytest.importorskip("databay_web")

from databay import Calendar  # noqa: E402
from databay_celery.redis_server import RedisServer  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

TOKEN = "a-token-for-the-scheduler-0123456789"
PIPELINE = """
[planner]
use = "celery"
broker = "${{REDIS_URL}}"
name = "{name}"
leader_seconds = 2
poll_seconds = 0.2

[[links]]
tags = ["ticks"]
schedule = "every second"
timezone = "Asia/Kolkata"
inlets = ["random_int"]
outlets = ["null"]

[[links]]
tags = ["morning"]
schedule = "every day at 06:30"
timezone = "America/New_York"
immediate_transfer = false
inlets = ["random_int"]
outlets = ["null"]

[web]
listen = "127.0.0.1:0"
token = "${{WEB_TOKEN}}"
"""


@pytest.fixture(scope="module")
def redis_url():
    if not RedisServer.available():
        pytest.skip("needs redis-server (Debian package 'redis-server')")
    with RedisServer() as server:
        yield server.url


class Scheduler:
    """`databay run PIPELINE --no-live` with the Celery planner; the dashboard's URL from its log."""

    def __init__(self, installed, pipeline, env: dict[str, str]):
        self.process = subprocess.Popen([str(installed.bin / "databay"), "run", str(pipeline), "--no-live"],
                                        env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self.url = ""
        found = threading.Event()

        def read() -> None:
            for line in self.process.stderr:
                self.lines.append(line)
                match = re.search(r"Dashboard at (http://\S+/)", line)
                if match:
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        assert found.wait(60) and self.url, "".join(self.lines)

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.url.rstrip("/") + path, timeout=30) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def post(self, path: str) -> tuple[int, str]:
        request = urllib.request.Request(self.url.rstrip("/") + path, method="POST",
                                         headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                return reply.status, reply.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def overview(self) -> dict:
        status, text = self.get("/api/overview")
        assert status == 200, text
        return json.loads(text)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


def test_the_dashboard_of_a_celery_scheduler(installed, tmp_path, redis_url, wait_until):
    path = tmp_path / "pipeline.toml"
    name = f"t{uuid.uuid4().hex[:10]}"
    path.write_text(PIPELINE.format(name=name))
    env = {"REDIS_URL": redis_url, "WEB_TOKEN": TOKEN}
    leader = Scheduler(installed, path, env)  # no worker: each link's first task stays queued
    standby = None
    try:
        assert wait_until(lambda: "leads" in (leader.overview()["planner_status"] or ""), timeout=30, every=0.1)
        # "ticks" falls due every second while its first task is still queued: skipped slots
        assert wait_until(lambda: leader.overview()["links"][0]["skipped"] >= 2, timeout=30, every=0.1), \
            leader.overview()
        overview = leader.overview()
        assert overview["running"] and overview["running_here"] and not overview["transfers_here"]
        assert overview["planner"] == "celery" and f"workers of queue databay.{name}" in overview["planner_status"]
        ticks, morning = overview["links"]
        assert ticks["schedule"] == "schedule every second (Asia/Kolkata)" and ticks["state"] == "scheduled"
        assert ticks["next_due_at"].endswith("+05:30") and ticks["next_due"] == int(ticks["next_due"])
        expected = Calendar("every day at 06:30", "America/New_York").next_after(datetime.datetime.now(datetime.UTC))
        assert morning["next_due_at"] == expected.isoformat()  # the scheduler's next slot
        for link in (ticks, morning):  # transfers run on the workers: not known here, not zero
            assert link["transfers"] is None and link["records_in"] is None and link["last"] is None
        assert overview["totals"]["transfers"] is None and overview["totals"]["skipped"] >= 2
        page = leader.get("/")[1]
        assert "transfers the links in other processes" in page and expected.isoformat() in page
        assert "transfers run in other processes" in leader.get("/links/0")[1].lower()

        families = {family.name: family for family in text_string_to_metric_families(leader.get("/metrics")[1])}
        assert "databay_transfers" not in families and "databay_transfer_lateness_seconds" not in families
        skipped = {s.labels["link"]: s.value for s in families["databay_transfers_skipped"].samples
                   if s.name.endswith("_total")}
        assert skipped["ticks"] >= 2
        assert families["databay_planner_running"].samples[0].value == 1
        assert leader.get("/readyz")[0] == 200

        status, answer = leader.post("/api/links/0/transfer")
        assert status == 409 and "transfers the links elsewhere" in answer
        status, answer = leader.post("/api/links/0/pause")
        assert status == 409 and "cannot pause a link" in answer

        standby = Scheduler(installed, path, env)
        assert wait_until(lambda: "stands by" in (standby.overview()["planner_status"] or ""), timeout=30, every=0.1)
        waiting = standby.overview()["links"]
        assert [link["state"] for link in waiting] == ["not scheduled here"] * 2
        assert [link["next_due_at"] for link in waiting] == [None, None]  # the leader knows them
    finally:
        codes = [scheduler.stop() for scheduler in (leader, standby) if scheduler is not None]
    assert codes == [0] * len(codes), "".join(leader.lines)
    assert not any("Traceback" in line for line in leader.lines), "".join(leader.lines)
