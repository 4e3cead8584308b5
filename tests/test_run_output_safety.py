"""`databay run` in a subprocess: no secret and no raw control character in what it prints.

A link's tags carry a newline and an escape sequence, its inlet fails with a message that
quotes its key (a registered secret) amid escape sequences: the result lines of ``--once``,
text logs (with and without ``--debug``) and JSON logs must show neither.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

NODES = Path(__file__).resolve().parent / "fixtures" / "pipelines"

KEY = "k3y-0f-th3-h0st1le-1nlet"
PIPELINE = r"""
[planner]
ignore_exceptions = true

[[links]]
tags = ["evil\nERROR forged\u001b[31m"]
interval = 1
inlets = [{ use = "hostile_nodes:HostileInlet", key = "KEY" }]
outlets = ["null"]
""".replace("KEY", KEY)

LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\|[DIWEC]\| ")



def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    return {**env, "PYTHONPATH": str(NODES), "COLUMNS": "160"}


def raw_controls(text: str) -> list[str]:
    return [c for c in text if (ord(c) < 32 and c not in "\n\t") or 0x7F <= ord(c) <= 0x9F]


@pytest.mark.parametrize("debug", [[], ["--debug"]], ids=["plain", "debug"])
def test_once_results_and_text_logs_are_escaped_and_redacted(installed, tmp_path, debug, write_pipeline):
    path = write_pipeline(PIPELINE)
    result = installed.run("databay", *debug, "run", str(path), "--once", "-v", env=environment(), cwd=tmp_path)
    assert result.returncode == 1
    for output in (result.stdout, result.stderr):
        assert KEY not in output and raw_controls(output) == []
    failed = result.stdout.splitlines()[0]
    assert failed == ("FAILED links[0] evil\\nERROR forged\\x1b[31m: PermissionError: key ${HOSTILE_KEY} "
                      "refused\\x1b[2J\\x1b]0;owned\\x07\\nERROR forged line")
    records = [line for line in result.stderr.splitlines() if LOG_LINE.match(line)]
    assert any("transfer failed: key ${HOSTILE_KEY} refused\\x1b[2J" in line for line in records)
    others = [line for line in result.stderr.splitlines() if not LOG_LINE.match(line)]
    if debug:  # only tracebacks' lines stand apart from the records
        assert "Traceback (most recent call last):" in others
    else:
        assert others == [] and not any(line.startswith("ERROR forged") for line in result.stderr.splitlines())


def test_json_logs_are_redacted_and_one_object_a_line(installed, tmp_path, write_pipeline):
    path = write_pipeline(PIPELINE)
    result = installed.run("databay", "--debug", "run", str(path), "--once", "-v", "--log-format", "json",
                           env=environment(), cwd=tmp_path)
    assert KEY not in result.stderr and raw_controls(result.stderr) == []
    records = [json.loads(line) for line in result.stderr.splitlines()]
    [failure] = [r for r in records if r["level"] == "ERROR"]
    assert "key ${HOSTILE_KEY} refused\x1b[2J" in failure["message"]
    assert failure["exception"].startswith("Traceback") and "${HOSTILE_KEY}" in failure["exception"]
