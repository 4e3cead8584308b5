"""The installed distribution: the `web` service registered lazily; starting `databay`
imports none of the server's libraries."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from databay.testing import PluginTester

DATABAY = str(Path(sys.executable).parent / "databay")


class TestPlugin(PluginTester):
    distribution = "databay-web"
    components = {"service": {"web": "databay_web.service:WebService"}}
    watch = ["aiohttp", "jinja2", "prometheus_client", "databay_web.server"]


def test_databay_plugins_lists_and_checks_it():
    listing = subprocess.run([DATABAY, "plugins"], capture_output=True, text=True, env={"COLUMNS": "160"})
    assert "services: web" in listing.stdout
    check = subprocess.run([DATABAY, "plugins", "--check"], capture_output=True, text=True, env={"COLUMNS": "200"})
    assert check.returncode == 0, check.stdout


def test_starting_databay_imports_no_server_library():
    code = ("import sys\nfrom databay.cli.main import main\n"
            "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('aiohttp', 'jinja2', 'prometheus_client') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stdout + result.stderr
