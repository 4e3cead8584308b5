"""``databay stage`` on a Redis stage, through the installed command: the summary, ``--list``,
``--export`` (JSON Lines and CSV), ``--replay`` and ``--purge``, with the password of the
Redis URL (given as ``${REDIS_URL}``) in none of their output."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import textwrap
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from cluster_run import DATABAY

PIPELINE = """
[[links]]
tags = ["dice"]
interval = "1s"
stage = {{ use = "redis", url = "${{REDIS_URL}}", key = "{key}" }}
stage_retention = "1d"
retry = {{ attempts = 1, initial_delay = 0 }}
inlets = ["random_int"]
outlets = [{outlets}]
"""

# A file, and a warehouse that is down until the test creates a file named "up".
BOTH = ('{ use = "file", default_filepath = "copy.txt" }, '
        '{ use = "databay.testing:SwitchedOutlet", error = "warehouse down" }')
PASSWORD = "s3cr3t-Redis-pass"


@pytest.fixture
def secret_url(redis_url, namespace):
    """A Redis user of this test's own, with a password, on the session's redis-server: the
    URL ``databay`` gets in ``REDIS_URL``."""
    admin = redis.Redis.from_url(redis_url)
    user = f"u{namespace}"
    admin.acl_setuser(user, enabled=True, passwords=[f"+{PASSWORD}"], keys=["*"], channels=["*"],
                      commands=["+@all"])
    parts = urlsplit(redis_url)
    yield urlunsplit(parts._replace(netloc=f"{user}:{PASSWORD}@{parts.hostname}:{parts.port}"))
    admin.acl_deluser(user)
    admin.close()


class Folder:
    """A pipeline with a Redis-staged link in a folder, and ``databay`` run there."""

    def __init__(self, path: Path, url: str):
        self.path, self.url = path, url
        self.key = f"cli:{uuid.uuid4().hex[:10]}"
        self.write(BOTH)

    def write(self, outlets: str) -> None:
        (self.path / "dice.toml").write_text(textwrap.dedent(PIPELINE.format(key=self.key, outlets=outlets)))

    def databay(self, *arguments: str) -> subprocess.CompletedProcess:
        result = subprocess.run([DATABAY, *arguments], cwd=self.path, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                                env={**os.environ, "REDIS_URL": self.url, "COLUMNS": "250"})
        assert PASSWORD not in result.stdout + result.stderr, "the Redis password was shown"
        return result

    def run_once(self, warehouse_up: bool = False) -> None:
        """One transfer: the warehouse takes the batch, or it is dead-lettered for it."""
        up = self.path / "up"
        if warehouse_up:
            up.touch()
        else:
            up.unlink(missing_ok=True)
        result = self.databay("run", "dice.toml", "--once", "--no-live")
        assert result.returncode == 0, result.stdout + result.stderr

    def stage(self, *options: str) -> subprocess.CompletedProcess:
        result = self.databay("stage", "dice.toml", *options)
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def outlets(self) -> dict:
        """``{outlet: (in the link, pending batches, dead batches)}`` of ``databay stage --json``."""
        [link] = json.loads(self.stage("--json").stdout)["links"]
        return {o["outlet"]: (o["in_link"], o["pending"] and o["pending"]["batches"],
                              o["dead"] and o["dead"]["batches"]) for o in link["outlets"]}

    def lines(self, name: str) -> list[str]:
        return (self.path / name).read_text().splitlines()


@pytest.fixture
def folder(tmp_path, secret_url):
    return Folder(tmp_path, secret_url)


def test_list_shows_dead_lettered_and_delivered_batches(folder):
    folder.run_once(warehouse_up=True)
    for _ in range(2):
        folder.run_once()
    batches = json.loads(folder.stage("--list", "--json").stdout)["batches"]
    assert sorted((row["state"], row["outlet"]) for row in batches) == [
        ("dead", "SwitchedOutlet"), ("dead", "SwitchedOutlet"), ("delivered", None)]
    assert all(row["link"] == "links[0] dice" and row["records"] == 1 for row in batches)
    assert all(row["stage"].startswith("redis://") and row["stage"].endswith(folder.key) for row in batches)
    dead = [row for row in batches if row["state"] == "dead"]
    assert all(row["error"] == "ConnectionError: warehouse down" and row["attempts"] == 1 for row in dead)

    dead_only = json.loads(folder.stage("--list", "--json", "--state", "dead").stdout)["batches"]
    assert sorted(row["batch_id"] for row in dead_only) == sorted(row["batch_id"] for row in dead)
    shown = folder.stage("--list", "--state", "dead").stdout
    rows = [line for line in shown.splitlines() if "links[0] dice" in line]
    assert len(rows) == 2 and all("SwitchedOutlet" in row and " dead " in row and "warehouse down" in row
                                  for row in rows)
    assert all(any(row["batch_id"] in line for line in rows) for row in dead), shown


def test_export_writes_the_records_as_json_lines_and_csv(folder):
    folder.run_once(warehouse_up=True)
    for _ in range(2):
        folder.run_once()
    delivered, *failed = folder.lines("copy.txt")
    exported = folder.stage("--export", "dead.jsonl", "--state", "dead")
    assert exported.stdout == "exported 2 record(s) of 2 batch(es) (dead) to dead.jsonl\n"
    rows = [json.loads(line) for line in folder.lines("dead.jsonl")]
    assert sorted(str(row["payload"]) for row in rows) == sorted(failed)
    assert all(row["state"] == "dead" and row["outlets"] == ["SwitchedOutlet"] and row["link"] == "links[0] dice"
               and row["error"] == "ConnectionError: warehouse down" for row in rows)
    assert len({row["record_id"] for row in rows}) == 2 and all(row["record_id"] for row in rows)

    exported = folder.stage("--export", "all.csv")
    assert exported.stdout == "exported 3 record(s) of 3 batch(es) (pending, dead, delivered) to all.csv\n"
    with open(folder.path / "all.csv", newline="") as file:
        assert next(csv.reader(file)) == ["link", "stage", "batch_id", "record_id", "state", "outlets", "created",
                                          "error", "payload", "metadata"]
    with open(folder.path / "all.csv", newline="") as file:
        table = list(csv.DictReader(file))
    assert sorted((row["state"], row["payload"]) for row in table) == sorted(
        [("dead", payload) for payload in failed] + [("delivered", delivered)])
    assert {row["record_id"] for row in table if row["state"] == "dead"} == {row["record_id"] for row in rows}

    to_stdout = folder.stage("--export", "-", "--format", "csv", "--state", "delivered")
    [row] = list(csv.DictReader(io.StringIO(to_stdout.stdout)))
    assert (row["state"], row["payload"], row["outlets"], row["error"]) == ("delivered", delivered, "", "")
    assert to_stdout.stderr.endswith("exported 1 record(s) of 1 batch(es) (delivered) to standard output\n")


def test_replayed_batches_are_delivered_by_the_next_run(folder):
    for _ in range(2):
        folder.run_once()
    assert folder.outlets() == {"FileOutlet": (True, None, None), "SwitchedOutlet": (True, None, 2)}
    replay = folder.stage("--replay")
    assert replay.stdout.splitlines() == [
        "links[0] dice: 2 dead-lettered batch(es) are pending again",
        "2 batch(es) replayed: a running pipeline delivers them at its next transfer, else the next run does"]
    assert folder.outlets() == {"FileOutlet": (True, None, None), "SwitchedOutlet": (True, 2, None)}
    folder.run_once(warehouse_up=True)
    assert folder.lines("delivered.jsonl") == folder.lines("copy.txt")
    assert folder.outlets() == {"FileOutlet": (True, None, None), "SwitchedOutlet": (True, None, None)}
    assert folder.stage("--replay").stdout.splitlines()[-1] == "no dead-lettered batch to replay"


def test_purge_asks_first_then_deletes_dead_letters_and_orphans(folder):
    folder.run_once()
    refused = folder.databay("stage", "dice.toml", "--purge")
    assert refused.returncode == 2
    assert refused.stdout == "links[0] dice: SwitchedOutlet: 1 dead-lettered batch(es), 1 records\n"
    assert refused.stderr == "Error: --purge deletes batches for good: confirm in a terminal, or pass --yes\n"
    assert folder.outlets()["SwitchedOutlet"] == (True, None, 1)
    purged = folder.stage("--purge", "--yes")
    assert purged.stdout.splitlines()[-1] == "links[0] dice: deleted 1 dead-lettered batch(es)"
    assert folder.outlets()["SwitchedOutlet"] == (True, None, None)

    folder.run_once()                       # a dead letter for the warehouse again, then the outlet goes
    folder.write('{ use = "file", default_filepath = "copy.txt" }')
    assert folder.outlets()["SwitchedOutlet"] == (False, None, 1)
    shown = folder.stage().stdout
    assert "SwitchedOutlet (not in the link)" in shown and "--purge deletes them" in shown
    purged = json.loads(folder.stage("--purge", "--yes", "--json").stdout)["purged"]
    assert [(p["link"], p["dead_lettered"], p["not_in_link"]) for p in purged] == [("links[0] dice", 0, 1)]
    assert folder.outlets() == {"FileOutlet": (True, None, None)}
    assert folder.stage("--purge", "--yes").stdout == "nothing to purge\n"


def test_a_redis_refusing_the_password_exits_1(folder):
    folder.url = folder.url.replace(PASSWORD, "wrong-password")
    result = folder.databay("stage", "dice.toml", "--list")
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert "wrong-password" not in result.stdout + result.stderr, result.stderr
    assert "links[0] dice" not in result.stdout, "nothing listed"
