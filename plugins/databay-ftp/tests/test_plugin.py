"""Registration through the databay entry point, lazily: listing plugins imports neither the
components nor paramiko, and FTP alone never imports paramiko."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import databay_ftp
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-ftp"
    components = {"inlet": {"ftp": "databay_ftp.inlet:FtpInlet"}, "outlet": {"ftp": "databay_ftp.outlet:FtpOutlet"}}
    watch = ["paramiko", "ftplib", *(f"databay_ftp.{module.name}" for module in pkgutil.iter_modules(databay_ftp.__path__)
                                    if module.name != "plugin")]  # every module of the package but its hooks


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_components_import_paramiko_only_for_sftp() -> None:
    found = run(
        "import json, sys\n"
        "from databay_ftp import FtpInlet, FtpOutlet\n"
        "FtpOutlet('ftp://u@127.0.0.1/'); FtpInlet('sftp://u@127.0.0.1/')\n"
        "print(json.dumps({'paramiko': 'paramiko' in sys.modules}))\n"
    )
    assert found == {"paramiko": False}


def test_the_package_exports_the_components() -> None:
    from databay_ftp.inlet import FtpInlet
    from databay_ftp.outlet import FtpOutlet

    assert databay_ftp.FtpOutlet is FtpOutlet and databay_ftp.FtpInlet is FtpInlet


def test_inspect_documents_both_components() -> None:
    from pathlib import Path

    databay = Path(sys.executable).parent / "databay"
    result = subprocess.run([str(databay), "inspect", "ftp"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for expected in ("outlet ftp", "inlet ftp", "FtpOutlet.FILENAME", "FtpInlet.FILE", "known_hosts", "cacert",
                     "max_bytes", "{batch}"):
        assert expected in result.stdout, expected
