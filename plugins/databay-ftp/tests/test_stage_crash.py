"""Crash test: a staged pipeline from one remote directory to another, over FTP and over SFTP,
killed with SIGKILL at random moments, loses nothing and duplicates nothing.

``databay run`` runs a pipeline whose link reads JSON-lines files from ``source/`` with an
``ftp`` inlet (two files per transfer, every 10 ms) and uploads them to ``target/`` with
an ``ftp`` outlet naming files by time and transfer (``{time:...%f}-{update}.jsonl``),
through a stage. It is killed with SIGKILL at random moments, 20 times: while starting,
listing, downloading, mid-upload, mid-rename, mid-commit. Then ``databay run --once``
drains what is left. Every row of every source file must be in the target exactly once (a
batch uploaded but not acknowledged before the kill is uploaded again under the same name,
made of its commit's time and transfer although every new process numbers its transfers
from 0 again, replacing its first copy), and no temporary file may be left (a redelivery
reuses, and renames away, the temporary name of an interrupted upload).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from databay.testing import kill_at_random_moments

KILLS = 20
FILES = 300
ROWS = 4
DATABAY = Path(sys.executable).parent / "databay"

NODES = '''
from databay_ftp import FtpInlet


class AnnouncingFtpInlet(FtpInlet):
    """An FtpInlet that prints "ready" after its first pull (logged in, files listed and read),
    so the test knows the planner runs."""

    def pull(self, update):
        records = super().pull(update)
        if not getattr(self, "_announced", False):
            self._announced = True
            print("ready", flush=True)
        return records
'''

PIPELINE = '''\

[planner]
ignore_exceptions = true

[[links]]
tags = ["crash"]
interval = "10ms"
stage = "crash.stage"
inlets = [{{ use = "crash_nodes:AnnouncingFtpInlet", url = "{source}", pattern = "*.jsonl", format = "jsonl", \
password = "${{TEST_FTP_PASSWORD}}", max_files = {max_files}, timeout = 5{options} }}]
outlets = [{{ use = "ftp", url = "{target}", password = "${{TEST_FTP_PASSWORD}}", filename = "{{time:%Y%m%dT%H%M%S.%f}}-{{update}}.jsonl", \
timeout = 5{options} }}]
'''


def write_pipeline(path: Path, remote, max_files: int) -> None:
    options = "".join(f', {key} = "{value}"' for key, value in remote.options.items())
    path.write_text(PIPELINE.format(source=f"{remote.url}/source", target=f"{remote.url}/target",
                                    max_files=max_files, options=options))


@pytest.mark.parametrize("scheme", ["ftp", "sftp"])
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(remote, tmp_path):
    if not DATABAY.exists():
        pytest.skip(f"the databay command is not installed next to {sys.executable}")
    with remote.client() as client:
        client.makedirs("source")
        client.makedirs("target")
        for number in range(FILES):
            rows = "".join(json.dumps({"file": number, "row": row}) + "\n" for row in range(ROWS))
            client.write(f"source/{number:04d}.jsonl", rows.encode())
    (tmp_path / "crash_nodes.py").write_text(NODES)
    write_pipeline(tmp_path / "crash.toml", remote, max_files=2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("DATABAY_")}
    env["TEST_FTP_PASSWORD"] = remote.password
    interrupted_uploads = []  # whether each kill left a temporary file behind

    def look_for_temporary_files() -> None:
        with remote.client() as client:
            interrupted_uploads.append(any(n.rsplit("/", 1)[-1].startswith(".") for n in client.names("target")))

    kills = kill_at_random_moments([str(DATABAY), "run", "crash.toml", "--no-live", "-qq"], KILLS, ready="ready",
                                   cwd=tmp_path, env=env, starting_window=0.5, running_window=0.5,
                                   after_kill=look_for_temporary_files)

    with remote.client() as client:
        delivered_before_drain = len([n for n in client.names("target") if not n.rsplit("/", 1)[-1].startswith(".")])
    assert delivered_before_drain >= KILLS // 2, "too few batches were delivered between the kills to say much"

    write_pipeline(tmp_path / "crash.toml", remote, max_files=FILES)
    drain = subprocess.run([str(DATABAY), "run", "crash.toml", "--once", "--no-live"], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=120)
    assert drain.returncode == 0, drain.stdout + drain.stderr
    assert remote.password not in drain.stdout + drain.stderr

    with remote.client() as client:
        names = client.names("target")
        rows = Counter((row["file"], row["row"]) for name in names if not name.rsplit("/", 1)[-1].startswith(".")
                       for row in map(json.loads, client.read(name).splitlines()))
    leftovers = [name for name in names if name.rsplit("/", 1)[-1].startswith(".")]
    duplicates = sum(rows.values()) - len(rows)
    print(f"\ncrash test over {remote.scheme} (seed {kills.seed}): {KILLS} SIGKILLs in {kills.seconds:.1f} s, "
          f"{sum(interrupted_uploads)} of them mid-upload; "
          f"{delivered_before_drain} batch files before the drain, {len(names)} after, {len(rows)} rows of {FILES * ROWS}; duplicates {duplicates}, "
          f"temporary files left {len(leftovers)}")
    assert set(rows) == {(f, r) for f in range(FILES) for r in range(ROWS)}, "every row arrived"
    assert duplicates == 0
    assert leftovers == []
