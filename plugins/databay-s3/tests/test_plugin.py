"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_s3
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-s3"
    components = {"inlet": {"s3": "databay_s3.inlet:S3Inlet"}, "outlet": {"s3": "databay_s3.outlet:S3Outlet"}}
    watch = ["boto3", "botocore", "s3transfer", "databay_s3.inlet", "databay_s3.outlet"]


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_importing_the_package_and_its_errors_does_not_import_boto3() -> None:
    found = run("import json, sys\nfrom databay_s3 import S3Error, S3AccessError\n"
                "print(json.dumps(sorted(n for n in sys.modules if n.startswith(('boto3', 'botocore')))))")
    assert found == []


def test_the_package_exports_the_components() -> None:
    from databay_s3.inlet import S3Inlet
    from databay_s3.outlet import S3Outlet

    assert databay_s3.S3Outlet is S3Outlet and databay_s3.S3Inlet is S3Inlet


def test_the_distribution_ships_its_type_information() -> None:
    from importlib.resources import files

    assert files("databay_s3").joinpath("py.typed").is_file()
