"""A stage that cannot be written: a full disk (a file-size limit) and a read-only stage.

Each time: one clear error, the link stops taking new records instead of losing them,
and the stage file stays intact (``PRAGMA integrity_check``) and reopens with all its data.

A full disk is simulated with ``RLIMIT_FSIZE`` in a subprocess (with ``SIGXFSZ`` ignored,
so writes past the limit fail with ``EFBIG`` instead of killing the process). A read-only
stage: as root, ``chmod`` stops nothing, so the files are made immutable with
``chattr +i`` (which stops root too); as another user, ``chmod`` is enough.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from databay import Link
from databay.errors import StageError

NODES = textwrap.dedent('''
    from databay import Inlet, Outlet

    class SequenceInlet(Inlet):
        def __init__(self, per_pull=50):
            super().__init__()
            self.next = 0
            self.pulls = 0
            self.per_pull = per_pull

        def pull(self, update):
            self.pulls += 1
            start, self.next = self.next, self.next + self.per_pull
            # 50 make about 5 KB per transfer: more than the file-size limit below
            return [{"seq": n, "pad": "x" * 100} for n in range(start, self.next)]

        def get_state(self):
            return {"next": self.next}

        def set_state(self, state):
            self.next = state["next"]

    class ListOutlet(Outlet):
        def __init__(self):
            super().__init__()
            self.seqs = []

        def push(self, records, update):
            self.seqs.extend(r.payload["seq"] for r in records)
''')

DISK_FULL = NODES + textwrap.dedent('''
    import json, resource, signal, sys
    from databay import Link
    from databay.errors import StageError

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG
    inlet, outlet = SequenceInlet(), ListOutlet()
    link = Link(inlet, outlet, interval=1, stage=sys.argv[1])
    link.transfer()
    link.transfer()
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))   # "the disk is full"
    errors = []
    for _ in range(3):
        try:
            link.transfer()
        except StageError as exc:
            errors.append(str(exc))
    pulls_while_full = inlet.pulls
    integrity_while_full = link.stage.integrity_check()
    if sys.argv[2] == "crash":
        print(json.dumps({"errors": errors, "seqs": outlet.seqs, "pulls": pulls_while_full}), flush=True)
        import os
        os.kill(os.getpid(), signal.SIGKILL)
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))   # space again
    link.transfer()
    link.transfer()
    link.on_shutdown()
    print(json.dumps({"errors": errors, "seqs": outlet.seqs, "pulls": pulls_while_full,
                      "pulls_after": inlet.pulls, "integrity_while_full": integrity_while_full}))
''')


# The same nodes in this process (the crash test's restart and the read-only tests).
_nodes: dict = {}
exec(NODES, _nodes)
SequenceInlet, ListOutlet = _nodes["SequenceInlet"], _nodes["ListOutlet"]


def run_disk_full(stage: Path, mode: str) -> dict:
    result = subprocess.run([sys.executable, "-c", DISK_FULL, str(stage), mode], capture_output=True, text=True,
                            timeout=60)
    lines = result.stdout.strip().splitlines()
    assert lines, f"no output (exit {result.returncode}):\n{result.stderr}"
    return json.loads(lines[-1])


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


def test_a_full_disk_stops_the_link_and_loses_nothing(tmp_path):
    stage = tmp_path / "link.stage"
    result = run_disk_full(stage, "recover")
    assert len(result["errors"]) == 3
    assert result["errors"][0].startswith(f"stage {stage}: cannot commit transfer 2: ")
    assert "disk is full" in result["errors"][0] or "disk I/O error" in result["errors"][0]
    assert result["pulls"] == 3  # pulled once, then it waited for the stage
    assert result["integrity_while_full"] == "ok"
    # The records pulled while the disk was full were committed and delivered once it had space.
    assert result["seqs"] == list(range(200)) and result["pulls_after"] == 4
    assert integrity(stage) == "ok"


def test_a_crash_while_the_disk_is_full_loses_nothing_either(tmp_path):
    stage = tmp_path / "link.stage"
    result = run_disk_full(stage, "crash")
    assert result["seqs"] == list(range(100)) and result["pulls"] == 3
    assert integrity(stage) == "ok"
    # Restart: the position committed with the last staged records is where it goes on.
    inlet, outlet = SequenceInlet(), ListOutlet()
    link = Link(inlet, outlet, interval=1, stage=stage)
    link.transfer()
    link.on_shutdown()
    assert outlet.seqs == list(range(100, 150))
    assert integrity(stage) == "ok"


# -- read-only -------------------------------------------------------------------------


@contextlib.contextmanager
def read_only(*paths: Path):
    """Make ``paths`` unwritable, for root too; undone on exit."""
    if os.geteuid() != 0:
        modes = {p: p.stat().st_mode for p in paths}
        for p in paths:
            p.chmod(0o555 if p.is_dir() else 0o444)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)
        return
    chattr = shutil.which("chattr")
    if chattr is None:
        pytest.skip("running as root without chattr: no way to make a file read-only for root")
    done = []
    try:
        for p in paths:
            result = subprocess.run([chattr, "+i", str(p)], capture_output=True, text=True)
            if result.returncode != 0:
                pytest.skip(f"chattr +i is not supported here: {result.stderr.strip()}")
            done.append(p)
        yield
    finally:
        for p in done:
            subprocess.run([chattr, "-i", str(p)], check=True)


def stage_files(stage: Path, but: str = "") -> list[Path]:
    """The stage's files and its folder (except the one whose name ends with ``but``)."""
    files = [p for p in stage.parent.iterdir() if p.name.startswith(stage.name)]
    return [p for p in files if not (but and p.name.endswith(but))] + [stage.parent]


def test_a_stage_that_becomes_read_only_stops_the_link_and_loses_nothing(tmp_path):
    stage = tmp_path / "state" / "link.stage"
    inlet, outlet = SequenceInlet(per_pull=1), ListOutlet()
    link = Link(inlet, outlet, interval=1, stage=stage)
    link.transfer()
    # Not the -shm file: SQLite writes that index through shared memory, and the kernel
    # kills a process writing to a mapping of a file that became immutable (SIGBUS): a
    # crash, which the crash test covers. The file, its WAL and the folder are enough.
    with read_only(*stage_files(stage, but="-shm")):
        for _ in range(2):
            with pytest.raises(StageError, match=rf"^stage {stage}: cannot commit transfer 1: "):
                link.transfer()
        assert inlet.pulls == 2 and outlet.seqs == [0]
    link.transfer()  # writable again: the held record first, then nothing new was pulled meanwhile
    link.transfer()
    assert outlet.seqs == [0, 1, 2]
    link.on_shutdown()
    assert integrity(stage) == "ok"


def test_opening_a_read_only_stage_is_a_clear_error(tmp_path):
    stage = tmp_path / "state" / "link.stage"
    first = Link(SequenceInlet(per_pull=1), ListOutlet(), interval=1, stage=stage)
    first.transfer()
    first.on_shutdown()
    with read_only(*stage_files(stage)):
        inlet = SequenceInlet(per_pull=1)
        link = Link(inlet, ListOutlet(), interval=1, stage=stage)
        with pytest.raises(StageError, match=rf"^stage {stage}: "):
            link.transfer()
        assert inlet.pulls == 0
    assert integrity(stage) == "ok"


def test_a_stage_in_a_read_only_folder_cannot_be_created(tmp_path):
    folder = tmp_path / "locked"
    folder.mkdir()
    with read_only(folder):
        inlet = SequenceInlet(per_pull=1)
        link = Link(inlet, ListOutlet(), interval=1, stage=folder / "new.stage")
        with pytest.raises(StageError, match=rf"^stage {folder / 'new.stage'}: cannot open: "):
            link.transfer()
        assert inlet.pulls == 0
