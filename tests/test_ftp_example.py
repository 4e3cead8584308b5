"""examples/ftp_relay.toml with the installed `databay`: CSV files dropped on an FTP server are
published as JSON lines on an SFTP server, each row once, and no password shows."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "ftp_relay.toml"

testing = pytest.importorskip("databay_ftp.testing", reason="needs databay-ftp[test]")


def published_rows(root: Path) -> list[dict]:
    folder = root / "published" / "readings"
    if not folder.exists():
        return []
    return [json.loads(line) for path in sorted(folder.iterdir()) if not path.name.startswith(".")
            for line in path.read_text().splitlines()]


def test_csv_files_are_relayed_once(installed, tmp_path):
    with testing.LocalServer("ftp") as drop, testing.LocalServer("sftp") as publish:
        (drop.root / "drop").mkdir()
        (publish.root / "published").mkdir()
        (drop.root / "drop" / "a.csv").write_text("sensor,celsius\r\nkitchen,21.5\r\ncellar,12.0\r\n")
        (drop.root / "drop" / "notes.txt").write_text("not a csv file")
        home = tmp_path / "home"
        (home / ".ssh").mkdir(parents=True)
        shutil.copy(publish.options["known_hosts"], home / ".ssh" / "known_hosts")  # the default trust file
        env = {"HOME": str(home),
               "DROP_URL": drop.url_for(directory="/drop"), "DROP_PASSWORD": drop.password,
               "PUBLISH_URL": publish.url_for(directory="/published"), "PUBLISH_PASSWORD": publish.password}

        first = installed.databay("run", str(EXAMPLE), "--once", "--no-live", env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stdout + first.stderr
        assert published_rows(publish.root) == [{"sensor": "kitchen", "celsius": "21.5"},
                                                {"sensor": "cellar", "celsius": "12.0"}]

        again = installed.databay("run", str(EXAMPLE), "--once", "--no-live", env=env, cwd=tmp_path)
        assert again.returncode == 0, again.stdout + again.stderr
        assert len(published_rows(publish.root)) == 2, "a file already read is not read again"

        (drop.root / "drop" / "b.csv").write_text("sensor,celsius\r\nattic,30.1\r\n")
        third = installed.databay("run", str(EXAMPLE), "--once", "--no-live", env=env, cwd=tmp_path)
        assert third.returncode == 0, third.stdout + third.stderr
        assert published_rows(publish.root)[2:] == [{"sensor": "attic", "celsius": "30.1"}]
        for result in (first, again, third):
            assert drop.password not in result.stdout + result.stderr
            assert publish.password not in result.stdout + result.stderr
        files = sorted(p.name for p in (publish.root / "published" / "readings").iterdir())
        assert len(files) == 2 and all(name.endswith(".jsonl") and not name.startswith(".") for name in files)
