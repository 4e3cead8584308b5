"""Registration through the databay entry point, lazily: listing plugins imports neither the
components nor paramiko, and FTP alone never imports paramiko."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_ftp


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_components_does_not_import_them() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {k: [c.import_path for c in m.components(k) if c.distribution == 'databay-ftp'] "
        "for k in ('inlet', 'outlet')}\n"
        "loaded = sorted(n for n in sys.modules if n.startswith(('databay_ftp.', 'paramiko', 'ftplib')) "
        "and n != 'databay_ftp.plugin')\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"inlet": ["databay_ftp.inlet:FtpInlet"], "outlet": ["databay_ftp.outlet:FtpOutlet"]}
    assert found["loaded"] == []


def test_the_components_import_paramiko_only_for_sftp() -> None:
    found = run(
        "import json, sys\n"
        "from databay_ftp import FtpInlet, FtpOutlet\n"
        "FtpOutlet('ftp://u@127.0.0.1/'); FtpInlet('sftp://u@127.0.0.1/')\n"
        "print(json.dumps({'paramiko': 'paramiko' in sys.modules}))\n"
    )
    assert found == {"paramiko": False}


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_ftp.inlet import FtpInlet
    from databay_ftp.outlet import FtpOutlet

    manager = get_plugin_manager()
    assert manager.find("outlet", "ftp").load() is FtpOutlet
    assert manager.find("inlet", "ftp").load() is FtpInlet
    assert manager.find("outlet", "FtpOutlet").load() is FtpOutlet


def test_compatible_imports() -> None:
    from databay.inlets import FtpInlet
    from databay.outlets import FtpOutlet

    assert FtpOutlet.__module__ == "databay_ftp.outlet"
    assert FtpInlet.__module__ == "databay_ftp.inlet"
    assert databay_ftp.FtpOutlet is FtpOutlet
    assert databay_ftp.FtpInlet is FtpInlet


def test_inspect_documents_both_components() -> None:
    from pathlib import Path

    databay = Path(sys.executable).parent / "databay"
    result = subprocess.run([str(databay), "inspect", "ftp"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for expected in ("outlet ftp", "inlet ftp", "FtpOutlet.FILENAME", "FtpInlet.FILE", "known_hosts", "cacert",
                     "max_bytes", "{batch}"):
        assert expected in result.stdout, expected
