"""The installed command: `databay run --web`, `databay web PIPELINE`, `databay web --hash-password`,
in subprocesses."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from databay_web.passwords import verify_password
from web_helpers import TOKEN, Client, wait_for

HERE = Path(__file__).resolve().parent
DATABAY = str(Path(sys.executable).parent / "databay")
PIPELINE = """
[planner]
ignore_exceptions = true

[[links]]
tags = ["orders"]
interval = "100ms"
stage = "orders.stage"
retry = { attempts = 1 }
inlets = [{ use = "web_components:Counter" }]
outlets = [{ use = "web_components:Flaky", always = true }]
"""


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    return {**env, "PYTHONPATH": str(HERE), **extra}


def databay(*args: str, cwd: Path, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([DATABAY, *args], capture_output=True, text=True, cwd=cwd, env=_env(**env),
                          input=input, timeout=120)


class Served:
    """A `databay` process serving the dashboard; its URL read from its standard error."""

    def __init__(self, args: list[str], cwd: Path, **env: str):
        self.process = subprocess.Popen([DATABAY, *args], cwd=cwd, env=_env(**env), stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        found = threading.Event()
        self.url = ""

        def read() -> None:
            for line in self.process.stderr:
                self.lines.append(line)
                match = re.search(r"(?:Dashboard|\(read-only\)) at (http://\S+/)", line)
                if match and not found.is_set():
                    self.url = match.group(1)
                    found.set()
            found.set()

        threading.Thread(target=read, daemon=True).start()
        assert found.wait(60) and self.url, "".join(self.lines)
        self.client = Client(self.url)

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(30)


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Path:
    path = tmp_path / "pipeline.toml"
    path.write_text(PIPELINE)
    return path


def test_run_offers_the_web_option():
    result = subprocess.run([DATABAY, "run", "--help"], capture_output=True, text=True, env=_env(COLUMNS="200"))
    compact = "".join(result.stdout.split())  # the help is wrapped
    assert result.returncode == 0 and "--webHOST:PORT" in compact and "(databay-web)" in compact


def test_run_serves_the_dashboard_while_the_pipeline_runs(pipeline_file, tmp_path):
    served = Served(["run", str(pipeline_file), "--no-live", "--web", "127.0.0.1:0"], tmp_path)
    try:
        overview = served.client.get("/api/overview").json()
        assert overview["running"] and overview["links"][0]["name"] == "orders"
        assert served.client.get("/healthz").status == 200
    finally:
        assert served.stop() == 0
    assert "Dashboard at http://127.0.0.1:" in "".join(served.lines)


def test_a_web_table_in_the_pipeline_serves_too(pipeline_file, tmp_path, users_file):
    pipeline_file.write_text(PIPELINE + f'[web]\nlisten = "127.0.0.1:0"\nusers_file = "{users_file}"\n'
                             'token = "${WEB_TOKEN}"\n')
    served = Served(["run", str(pipeline_file), "--no-live"], tmp_path, WEB_TOKEN=TOKEN)
    try:
        assert served.client.api("POST", "/api/links/0/transfer").status == 200
    finally:
        assert served.stop() == 0
    shown = databay("validate", str(pipeline_file), "--show", cwd=tmp_path, WEB_TOKEN=TOKEN)
    assert shown.returncode == 0 and "[web]" in shown.stdout and 'token = "${WEB_TOKEN}"' in shown.stdout
    assert TOKEN not in shown.stdout


BROKEN = """
[planner]
ignore_exceptions = true

[[links]]
tags = ["broken"]
interval = "100ms"
inlets = [{ use = "web_components:Broken" }]
outlets = [{ use = "null" }]
"""


@pytest.mark.parametrize("debug", [True, False])
def test_tracebacks_on_a_links_page_with_databay_debug_run(tmp_path, debug):
    path = tmp_path / "broken.toml"
    path.write_text(BROKEN)
    served = Served([*(["--debug"] if debug else []), "run", str(path), "--no-live", "--web", "127.0.0.1:0"],
                    tmp_path)
    try:
        assert wait_for(lambda: served.client.get("/api/links/0").json()["errors"])
        error = served.client.get("/api/links/0").json()["errors"][0]
        page = served.client.get("/links/0").text
    finally:
        assert served.stop() == 0
    assert error["error"] == "RuntimeError: the source is down"
    assert ("Traceback (most recent call last)" in page) is debug
    assert (error["traceback"] is not None and 'raise RuntimeError("the source is down")' in error["traceback"]) \
        is debug


def test_a_reachable_address_without_authentication_is_refused(pipeline_file, tmp_path):
    result = databay("run", str(pipeline_file), "--web", "0.0.0.0:0", cwd=tmp_path)
    assert result.returncode == 2
    assert "0.0.0.0:0 is reachable from other machines, and no authentication is configured" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_port_in_use_stops_the_run_before_any_transfer(pipeline_file, tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = databay("run", str(pipeline_file), "--no-live", "--web", f"127.0.0.1:{port}", cwd=tmp_path)
    assert result.returncode == 1
    assert f"web: cannot listen on 127.0.0.1:{port}: Address already in use" in result.stderr
    assert not (tmp_path / "orders.stage").exists()  # nothing ran


def test_bad_web_options(pipeline_file, tmp_path):
    once = databay("run", str(pipeline_file), "--once", "--web", "8080", cwd=tmp_path)
    assert once.returncode == 2 and "--web runs beside a running pipeline: it does not go with --once" in once.stderr
    bad = databay("run", str(pipeline_file), "--web", "nowhere", cwd=tmp_path)
    assert bad.returncode == 2 and "web (web): could not be built" in bad.stderr and "has no port" in bad.stderr


def test_databay_web_shows_a_pipeline_that_is_not_running(pipeline_file, tmp_path):
    once = databay("run", str(pipeline_file), "--once", cwd=tmp_path)
    assert once.returncode == 0 and "dead-lettered 1 batch(es)" in once.stderr
    served = Served(["web", str(pipeline_file), "--web", "127.0.0.1:0"], tmp_path)
    try:
        client = served.client
        overview = client.get("/api/overview").json()
        assert not overview["running_here"] and overview["links"][0]["state"] == "not running"
        assert overview["links"][0]["stage"]["dead_batches"] == 1
        assert "push 1 refused" in client.get("/queue/0?state=dead").text
        assert "not running (read-only)" in client.get("/").text
        assert client.get("/metrics").status == 404
        assert client.get("/readyz").status == 503
        assert client.post("/queue/0/replay", {}).status == 403  # no authentication configured: no actions
        rows = client.get("/queue/0/export?format=jsonl").text.splitlines()
        assert len(rows) == 1 and '"payload": {"n": 0}' in rows[0]
    finally:
        assert served.stop() == 0


def test_databay_web_shows_delivered_batches_kept_for_stage_retention(tmp_path):
    path = tmp_path / "kept.toml"
    path.write_text("""
[[links]]
tags = ["kept"]
interval = "1s"
stage = "kept.stage"
stage_retention = "1h"
inlets = [{ use = "web_components:Counter", count = 2 }]
outlets = [{ use = "null" }]
""")
    for _ in range(2):
        assert databay("run", str(path), "--once", cwd=tmp_path).returncode == 0
    served = Served(["web", str(path), "--web", "127.0.0.1:0"], tmp_path)
    try:
        client = served.client
        listed = client.get("/api/queue/0?state=delivered").json()
        assert listed["total"] == 2 and [row["state"] for row in listed["batches"]] == ["delivered"] * 2
        assert listed["read_only"] and listed["backlog"]["pending_batches"] == 0
        page = client.get("/queue/0?state=delivered").text
        assert page.count('<tr class="state-delivered">') == 2 and "Replay" not in page
        number = listed["batches"][1]["batch"]
        shown = client.get(f"/api/queue/0/batches/{number}").json()
        assert shown["batch"]["state"] == "delivered" and [r["payload"] for r in shown["records"]] == [{"n": 0}, {"n": 1}]
        assert "{&#34;n&#34;: 1}" in client.get(f"/queue/0/batches/{number}").text
        rows = client.get("/queue/0/export?format=jsonl&state=delivered").text.splitlines()
        assert len(rows) == 4 and all('"state": "delivered"' in row for row in rows)
    finally:
        assert served.stop() == 0


def test_the_example_runs_with_its_dashboard(tmp_path):
    example = HERE.parents[2] / "examples" / "web_dashboard.toml"
    assert 'listen = "127.0.0.1:8080"' in example.read_text()  # --web wins over it: any free port here
    served = Served(["run", str(example), "--no-live", "--web", "127.0.0.1:0"], tmp_path)
    try:
        assert not served.url.endswith(":8080/")
        assert wait_for(lambda: served.client.get("/api/overview").json()["links"][0]["transfers"] >= 2)
        overview = served.client.get("/api/overview").json()
        dice = overview["links"][0]
        assert overview["running"] and dice["name"] == "dice" and dice["schedule"] == "interval 1s"
        assert dice["state"] == "idle" and dice["failures"] == 0 and dice["records_out"] == dice["transfers"]
        page = served.client.get("/")
        assert page.status == 200 and ">dice</a>" in page.text
        kept = served.client.get("/api/queue/0?state=delivered").json()  # kept 10 minutes
        assert kept["total"] >= 2 and kept["stage"].endswith("dice.stage")
    finally:
        assert served.stop() == 0
    rolls = (tmp_path / "out" / "web" / "dice.txt").read_text().split()
    assert len(rolls) >= 2 and all(roll in {"1", "2", "3", "4", "5", "6"} for roll in rolls)


def test_databay_web_refuses_an_invalid_pipeline(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(PIPELINE + '[web]\nlistn = "127.0.0.1:0"\n')
    result = databay("web", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "web (web): unknown argument 'listn' (did you mean 'listen'?)" in result.stderr
    assert databay("web", cwd=tmp_path).returncode == 2


def test_hash_password(tmp_path):
    result = databay("web", "--hash-password", "--user", "bob", cwd=tmp_path, input="s3cret pass\n")
    assert result.returncode == 0
    name, hashed = result.stdout.strip().split(":", 1)
    assert name == "bob" and verify_password("s3cret pass", hashed) and "s3cret" not in result.stdout
    assert databay("web", "--hash-password", cwd=tmp_path, input="\n").returncode == 2
