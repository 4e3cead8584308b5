"""``databay stage`` lists and exports batches (pending, dead, kept for stage_retention),
shows, exports and purges poison batches, converts earlier stages; bad stage files and
too few file descriptors are clear errors (issue 10 items 7, 8, 12; issue 11 item 3)."""

from __future__ import annotations

import csv
import json
import pickle
import resource
import sqlite3
import subprocess
import textwrap
from pathlib import Path

import pytest

NODES = '''
import os
from databay import Inlet
from databay.redaction import register_secret

# What databay does for every ${VAR} a pipeline expands, done here so that these tests
# see only how the stage's outputs use databay.redaction.
register_secret(os.environ.get("TOKEN"), "${TOKEN}")


class Counter(Inlet):
    """1, 2, 3...: one record per pull, its position kept in the stage."""

    def __init__(self, url="http://127.0.0.1/", **kwargs):
        super().__init__(**kwargs)
        self.url, self.next = url, 1

    def pull(self, update):
        self.next += 1
        return [{"n": self.next - 1, "tags": ("a", "b")}]

    def get_state(self):
        return {"next": self.next}

    def set_state(self, state):
        self.next = state["next"]

    def __repr__(self):
        return f"Counter(url={self.url!r})"
'''

PIPELINE = """
[[links]]
tags = ["count"]
interval = "1s"
stage = {stage}
{extra}
inlets = [{{ use = "nodes:Counter", url = "https://api.example/?key=${{TOKEN}}" }}]
outlets = [{{ use = "databay.testing:SwitchedOutlet", error = "warehouse down (token ${{TOKEN}})" }}]
"""

TOKEN = "tok-5ecret-value"


def setup(folder: Path, stage: str = '"state/count.stage"', extra: str = "") -> None:
    (folder / "nodes.py").write_text(NODES)
    (folder / "count.toml").write_text(textwrap.dedent(PIPELINE.format(stage=stage, extra=extra)))


def databay(installed, folder: Path, *args: str) -> subprocess.CompletedProcess:
    return installed.databay(*args, cwd=folder, env={"TOKEN": TOKEN, "COLUMNS": "250"})


def run_once(installed, folder: Path, expect: int = 0) -> subprocess.CompletedProcess:
    result = databay(installed, folder, "run", "count.toml", "--once", "--no-live")
    assert result.returncode == expect, result.stdout + result.stderr
    return result


def delivered(folder: Path) -> list:
    """What the warehouse (a SwitchedOutlet) took, in order."""
    return [json.loads(line) for line in (folder / "delivered.jsonl").read_text().splitlines()]


def no_secret(*outputs: str) -> None:
    for output in outputs:
        assert TOKEN not in output


def test_delivered_batches_are_kept_listed_and_exported(installed, tmp_path):
    setup(tmp_path, stage='{ use = "sqlite", path = "state/count.stage" }', extra='stage_retention = "1h"')
    (tmp_path / "up").touch()
    for _ in range(3):
        run_once(installed, tmp_path)
    shown = databay(installed, tmp_path, "stage", "count.toml")
    assert "links[0] count: 3 (3 records) delivered, kept for its stage_retention" in shown.stdout
    listed = json.loads(databay(installed, tmp_path, "stage", "count.toml", "--list", "--json").stdout)["batches"]
    assert [(b["state"], b["outlet"], b["records"]) for b in listed] == [("delivered", None, 1)] * 3
    exported = databay(installed, tmp_path, "stage", "count.toml", "--export", "kept.jsonl", "--state", "delivered")
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout == "exported 3 record(s) of 3 batch(es) (delivered) to kept.jsonl\n"
    rows = [json.loads(line) for line in (tmp_path / "kept.jsonl").read_text().splitlines()]
    assert [row["payload"] for row in rows] == [{"n": 1, "tags": ["a", "b"]}, {"n": 2, "tags": ["a", "b"]},
                                                {"n": 3, "tags": ["a", "b"]}]
    assert {row["state"] for row in rows} == {"delivered"} and rows[0]["record_id"].endswith(":1:0")
    assert rows[0]["metadata"] == {"__inlet__": "Counter(url='https://api.example/?key=${TOKEN}')"}
    as_csv = databay(installed, tmp_path, "stage", "count.toml", "--export", "kept.csv")
    assert as_csv.returncode == 0, as_csv.stderr
    with open(tmp_path / "kept.csv", newline="") as file:
        table = list(csv.DictReader(file))
    assert [json.loads(row["payload"])["n"] for row in table] == [1, 2, 3]
    assert list(table[0]) == ["link", "stage", "batch_id", "record_id", "state", "outlets", "created", "error",
                              "payload", "metadata"]
    no_secret(shown.stdout, (tmp_path / "kept.jsonl").read_text(), (tmp_path / "kept.csv").read_text())


def test_without_retention_nothing_delivered_is_kept(installed, tmp_path):
    setup(tmp_path)
    (tmp_path / "up").touch()
    run_once(installed, tmp_path)
    listed = databay(installed, tmp_path, "stage", "count.toml", "--list", "--json")
    assert json.loads(listed.stdout)["batches"] == []


def test_pending_and_dead_batches_are_listed_and_exported_without_secrets(installed, tmp_path):
    setup(tmp_path, extra="retry = { attempts = 1 }")
    run_once(installed, tmp_path)  # dead-lettered: the warehouse is down
    listed = databay(installed, tmp_path, "stage", "count.toml", "--list")
    assert listed.returncode == 0, listed.stderr
    assert "dead" in listed.stdout and "warehouse down (token ${TOKEN})" in listed.stdout
    exported = databay(installed, tmp_path, "stage", "count.toml", "--export", "-", "--state", "dead")
    [row] = [json.loads(line) for line in exported.stdout.splitlines()]
    assert (row["state"], row["outlets"], row["payload"]["n"]) == ("dead", ["SwitchedOutlet"], 1)
    assert row["error"] == "ConnectionError: warehouse down (token ${TOKEN})"
    assert exported.stderr == "exported 1 record(s) of 1 batch(es) (dead) to standard output\n"
    no_secret(listed.stdout, exported.stdout, exported.stderr)


def test_a_poison_batch_is_dead_lettered_delivery_goes_on_and_it_can_be_shown_exported_purged(installed, tmp_path):
    setup(tmp_path)
    run_once(installed, tmp_path, expect=1)  # the warehouse is down: batch 1 stays pending
    with sqlite3.connect(tmp_path / "state" / "count.stage") as connection:
        connection.execute("UPDATE batches SET records = ?", (b"\x80\x05corrupt",))
    (tmp_path / "up").touch()
    run = run_once(installed, tmp_path)  # batch 1 cannot be decoded; batch 2 is delivered
    assert "batch 1 cannot be decoded" in run.stderr
    assert delivered(tmp_path) == [{"n": 2, "tags": ["a", "b"]}]
    shown = databay(installed, tmp_path, "stage", "count.toml")
    assert "1 (1 records)" in shown.stdout and "batch 1 cannot be decoded" in shown.stdout
    exported = databay(installed, tmp_path, "stage", "count.toml", "--export", "-")
    [row] = [json.loads(line) for line in exported.stdout.splitlines()]
    assert row["state"] == "dead" and row["payload"] is None and "cannot be decoded" in row["error"]
    purged = databay(installed, tmp_path, "stage", "count.toml", "--purge", "--yes")
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.splitlines()[-1] == "links[0] count: deleted 1 dead-lettered batch(es)"
    assert json.loads(databay(installed, tmp_path, "stage", "count.toml", "--list", "--json").stdout)["batches"] == []


def test_an_empty_stage_file_exits_1_and_is_left_alone(installed, tmp_path):
    setup(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "count.stage").write_bytes(b"")
    run = run_once(installed, tmp_path, expect=1)
    assert "stage state/count.stage is an empty file (0 bytes), not a stage" in run.stdout + run.stderr
    shown = databay(installed, tmp_path, "stage", "count.toml")
    assert shown.returncode == 1
    assert shown.stderr.startswith("Error: stage state/count.stage is an empty file (0 bytes)")
    assert "Traceback" not in shown.stderr + run.stderr
    assert (tmp_path / "state" / "count.stage").read_bytes() == b""


def test_bad_json_in_a_stored_inlet_state_exits_1_naming_the_file_and_inlet(installed, tmp_path):
    setup(tmp_path)
    (tmp_path / "up").touch()
    run_once(installed, tmp_path)
    with sqlite3.connect(tmp_path / "state" / "count.stage") as connection:
        connection.execute("UPDATE inlet_states SET state = 'not json'")
    run = run_once(installed, tmp_path, expect=1)
    output = run.stdout + run.stderr
    assert "stage state/count.stage: the stored state of inlet 'Counter' is not JSON" in output
    assert "Traceback" not in output and "JSONDecodeError:" not in output
    with sqlite3.connect(tmp_path / "state" / "count.stage") as connection:
        assert connection.execute("SELECT state FROM inlet_states").fetchall() == [("not json",)]


def legacy_stage(path: Path, payloads: list) -> None:
    """A stage as the previous databay wrote it: schema 1, batches pickled (format pickle5)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as connection:
        connection.executescript("""
            CREATE TABLE stage_info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE batches (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL,
                transfer TEXT NOT NULL, size INTEGER NOT NULL, codec TEXT NOT NULL, records BLOB NOT NULL);
            CREATE TABLE deliveries (outlet TEXT NOT NULL, batch INTEGER NOT NULL REFERENCES batches (id),
                state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'dead')),
                attempts INTEGER NOT NULL DEFAULT 0, failed_at REAL, error TEXT, traceback TEXT,
                PRIMARY KEY (outlet, batch)) WITHOUT ROWID;
            CREATE TABLE inlet_states (inlet TEXT PRIMARY KEY, state TEXT NOT NULL, updated REAL NOT NULL);
            CREATE TABLE intake (id INTEGER PRIMARY KEY AUTOINCREMENT, created REAL NOT NULL, codec TEXT NOT NULL,
                records BLOB NOT NULL);
            INSERT INTO stage_info VALUES ('schema', '1'), ('uid', '0123456789ab'), ('created', '0');
            INSERT INTO inlet_states VALUES ('Counter', '{"next": 8}', 0);
        """)
        connection.execute("INSERT INTO batches (created, transfer, size, codec, records) VALUES (0, 'count.3', ?, "
                           "'pickle5', ?)", (len(payloads), pickle.dumps((payloads, {"__inlet__": "old"}), 5)))
        connection.execute("INSERT INTO deliveries (outlet, batch) VALUES ('SwitchedOutlet', 1)")


def test_a_stage_of_the_previous_format_is_refused_until_migrated(installed, tmp_path):
    setup(tmp_path)
    (tmp_path / "up").touch()
    legacy_stage(tmp_path / "state" / "count.stage", [{"n": 5}, {"n": 6}])
    refused = run_once(installed, tmp_path, expect=1)
    assert ("stage state/count.stage holds 1 batch(es) written by an earlier databay (format 'pickle5')"
            in refused.stdout + refused.stderr)
    assert "databay stage PIPELINE --migrate" in refused.stdout + refused.stderr
    shown = databay(installed, tmp_path, "stage", "count.toml")
    assert shown.returncode == 1 and "--migrate" in shown.stderr
    migrated = databay(installed, tmp_path, "stage", "count.toml", "--migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout == "links[0] count: 1 batch(es) converted to the current format\n"
    run_once(installed, tmp_path)
    assert [payload["n"] for payload in delivered(tmp_path)] == [5, 6, 8]  # the old batch, then new


@pytest.mark.parametrize("options", [("--list", "--purge"), ("--export", "x.jsonl", "--migrate"),
                                     ("--state", "gone"), ("--export", "x", "--format", "xml"),
                                     ("--format", "csv")])
def test_bad_options_exit_2(installed, tmp_path, options):
    setup(tmp_path)
    result = databay(installed, tmp_path, "stage", "count.toml", *options)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def many_links(folder: Path, count: int) -> None:
    (folder / "many.toml").write_text("".join(
        f'[[links]]\ntags = ["l{i}"]\ninterval = "1h"\nstage = "state/l{i}.stage"\ninlets = ["random_int"]\n'
        f'outlets = ["null"]\n\n' for i in range(count)))


@pytest.mark.parametrize("once", [True, False], ids=["--once", "running"])
def test_too_few_file_descriptors_is_said_with_the_limit(installed, tmp_path, once):
    many_links(tmp_path, 40)  # 4 descriptors each: more than 64 can hold

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))

    command = [installed.bin / "databay", "run", "many.toml", "--no-live", *(["--once"] if once else [])]
    result = subprocess.run(command, cwd=tmp_path, preexec_fn=low_limit, capture_output=True, text=True, timeout=120)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "too many open files: this process may have 64 open (RLIMIT_NOFILE, `ulimit -n`" in output
    assert "raise the limit, e.g. `ulimit -n 4096`" in output
    assert "Traceback" not in output
