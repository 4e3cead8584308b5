"""``databay stage`` and the reliability keys of pipeline files, through the installed command."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest
from databay.testing import free_port

PIPELINE = """
[[links]]
tags = ["dice"]
interval = "1s"
stage = "state/dice.stage"
retry = {{ attempts = 2, initial_delay = 0 }}
inlets = ["random_int"]
outlets = [{outlets}]
"""

# A file, and a warehouse that is down until the test creates a file named "up".
BOTH = ('{ use = "file", default_filepath = "copy.txt" }, '
        '{ use = "databay.testing:SwitchedOutlet", error = "warehouse down" }')


def setup(folder: Path, outlets: str = BOTH) -> None:
    (folder / "dice.toml").write_text(textwrap.dedent(PIPELINE.format(outlets=outlets)))


def stage_json(installed, folder: Path, *options: str) -> dict:
    result = installed.databay("stage", "dice.toml", "--json", *options, cwd=folder)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def outlets_of(report: dict) -> dict:
    [link] = report["links"]
    return {o["outlet"]: (o["in_link"], o["pending"] and o["pending"]["batches"], o["dead"] and o["dead"]["batches"])
            for o in link["outlets"]}


def test_before_the_first_run_the_stage_does_not_exist(installed, tmp_path):
    setup(tmp_path)
    result = installed.databay("stage", "dice.toml", cwd=tmp_path, env={"COLUMNS": "200"})
    assert result.returncode == 0, result.stderr
    assert "links[0] dice" in result.stdout and "state/dice.stage not created yet" in result.stdout
    assert stage_json(installed, tmp_path)["links"][0]["exists"] is False
    assert not (tmp_path / "state").exists()


def test_dead_letters_are_shown_replayed_and_delivered(installed, tmp_path):
    setup(tmp_path)
    for _ in range(2):
        run = installed.databay("run", "dice.toml", "--once", "--no-live", cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert "1 pulled, 1 pushed, 1 batch(es) dead-lettered" in run.stdout
    assert outlets_of(stage_json(installed, tmp_path)) == {"FileOutlet": (True, None, None),
                                                            "SwitchedOutlet": (True, None, 2)}
    shown = installed.databay("stage", "dice.toml", cwd=tmp_path, env={"COLUMNS": "200"})
    assert "2 (2 records)" in shown.stdout and "ConnectionError: warehouse down" in shown.stdout

    replay = installed.databay("stage", "dice.toml", "--replay", cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr
    assert replay.stdout.splitlines() == [
        "links[0] dice: 2 dead-lettered batch(es) are pending again",
        "2 batch(es) replayed: a running pipeline delivers them at its next transfer, else the next run does"]
    assert outlets_of(stage_json(installed, tmp_path))["SwitchedOutlet"] == (True, 2, None)

    (tmp_path / "up").touch()
    run = installed.databay("run", "dice.toml", "--once", "--no-live", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "delivered.jsonl").read_text().splitlines() == (tmp_path / "copy.txt").read_text().splitlines()
    assert outlets_of(stage_json(installed, tmp_path)) == {"FileOutlet": (True, None, None),
                                                            "SwitchedOutlet": (True, None, None)}


def test_purge_asks_first(installed, tmp_path):
    setup(tmp_path)
    installed.databay("run", "dice.toml", "--once", "--no-live", cwd=tmp_path)
    refused = installed.databay("stage", "dice.toml", "--purge", cwd=tmp_path)
    assert refused.returncode == 2
    assert refused.stdout == "links[0] dice: SwitchedOutlet: 1 dead-lettered batch(es), 1 records\n"
    assert refused.stderr == "Error: --purge deletes batches for good: confirm in a terminal, or pass --yes\n"
    assert outlets_of(stage_json(installed, tmp_path))["SwitchedOutlet"] == (True, None, 1)
    purged = installed.databay("stage", "dice.toml", "--purge", "--yes", cwd=tmp_path)
    assert purged.returncode == 0, purged.stderr
    assert purged.stdout.splitlines()[-1] == "links[0] dice: deleted 1 dead-lettered batch(es)"
    assert outlets_of(stage_json(installed, tmp_path))["SwitchedOutlet"] == (True, None, None)


def test_batches_of_an_outlet_removed_from_the_pipeline_are_shown_and_purged(installed, tmp_path):
    setup(tmp_path)
    installed.databay("run", "dice.toml", "--once", "--no-live", cwd=tmp_path)
    setup(tmp_path, outlets='{ use = "file", default_filepath = "copy.txt" }')
    assert outlets_of(stage_json(installed, tmp_path))["SwitchedOutlet"] == (False, None, 1)
    shown = installed.databay("stage", "dice.toml", cwd=tmp_path, env={"COLUMNS": "200"})
    assert "SwitchedOutlet (not in the link)" in shown.stdout
    assert "batches wait for outlets the link no longer has (SwitchedOutlet); --purge deletes them" in shown.stdout
    purged = installed.databay("stage", "dice.toml", "--purge", "--yes", "--json", cwd=tmp_path)
    assert json.loads(purged.stdout)["purged"] == [
        {"link": "links[0] dice", "stage": "state/dice.stage", "dead_lettered": 0, "not_in_link": 1}]
    assert outlets_of(stage_json(installed, tmp_path)) == {"FileOutlet": (True, None, None)}


@pytest.mark.parametrize("options, message", [
    (("--replay", "--purge"), "Error: --replay and --purge cannot be used together\n"),
])
def test_bad_options(installed, tmp_path, options, message):
    setup(tmp_path)
    result = installed.databay("stage", "dice.toml", *options, cwd=tmp_path)
    assert (result.returncode, result.stderr) == (2, message)


def test_an_invalid_pipeline_exits_2_with_its_problems(installed, tmp_path):
    (tmp_path / "bad.toml").write_text('[[links]]\ninterval = 1\nstage = 3\ninlets = ["random_int"]\noutlets = ["print"]\n')
    result = installed.databay("stage", "bad.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert "links[0]: argument 'stage': the path of the link's stage file" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_stage_that_cannot_be_read_exits_1(installed, tmp_path):
    setup(tmp_path)
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "dice.stage").write_bytes(b"this is not a database" * 100)
    result = installed.databay("stage", "dice.toml", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: stage state/dice.stage: cannot open: file is not a database")
    assert "Traceback" not in result.stderr


def test_a_pipeline_notifier_mails_a_failure(installed, tmp_path):
    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append(envelope.content.decode())
            return "250 OK"

    port = free_port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        (tmp_path / "mail.toml").write_text(textwrap.dedent(f"""
            [[links]]
            tags = ["missing"]
            interval = 1
            inlets = [{{ use = "file", filepath = "does-not-exist.txt", read_mode = "file" }}]
            outlets = ["print"]

            [[notifiers]]
            use = "email"
            to = "ops@example.com"
            sender = "databay@example.com"
            host = "127.0.0.1"
            port = {port}
        """))
        result = installed.databay("run", "mail.toml", "--once", "--no-live", cwd=tmp_path)
    finally:
        controller.stop()
    assert result.returncode == 1
    [message] = received
    assert "Subject: [databay] missing: transfer missing.0 failed: FileNotFoundError:" in message
    assert "To: ops@example.com" in message and "Traceback (most recent call last)" in message
