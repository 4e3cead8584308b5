"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_s3


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_components_does_not_import_boto3() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {k: [c.import_path for c in m.components(k) if c.distribution == 'databay-s3'] "
        "for k in ('inlet', 'outlet')}\n"
        "loaded = sorted(n for n in sys.modules if n.split('.')[0] in ('boto3', 'botocore', 's3transfer') "
        "or n in ('databay_s3.outlet', 'databay_s3.inlet'))\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"inlet": ["databay_s3.inlet:S3Inlet"], "outlet": ["databay_s3.outlet:S3Outlet"]}
    assert found["loaded"] == []


def test_importing_the_package_and_its_errors_does_not_import_boto3() -> None:
    found = run("import json, sys\nfrom databay_s3 import S3Error, S3AccessError\n"
                "print(json.dumps(sorted(n for n in sys.modules if n.startswith(('boto3', 'botocore')))))")
    assert found == []


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_s3.inlet import S3Inlet
    from databay_s3.outlet import S3Outlet

    manager = get_plugin_manager()
    assert manager.find("outlet", "s3").load() is S3Outlet
    assert manager.find("inlet", "s3").load() is S3Inlet


def test_the_namespaces_resolve_the_classes() -> None:
    from databay.inlets import S3Inlet
    from databay.outlets import S3Outlet

    assert S3Outlet.__module__ == "databay_s3.outlet" and S3Inlet.__module__ == "databay_s3.inlet"
    assert databay_s3.S3Outlet is S3Outlet and databay_s3.S3Inlet is S3Inlet


def test_the_distribution_ships_its_type_information() -> None:
    from importlib.resources import files

    assert files("databay_s3").joinpath("py.typed").is_file()
