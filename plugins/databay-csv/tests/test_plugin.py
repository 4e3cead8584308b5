"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_csv


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_components_does_not_import_them() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {k: [c.import_path for c in m.components(k) if c.distribution == 'databay-csv'] "
        "for k in ('inlet', 'outlet')}\n"
        "loaded = sorted(n for n in sys.modules if n.startswith('databay_csv.') and n != 'databay_csv.plugin')\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"inlet": ["databay_csv.inlet:CsvInlet"], "outlet": ["databay_csv.outlet:CsvOutlet"]}
    assert found["loaded"] == []


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_csv.inlet import CsvInlet
    from databay_csv.outlet import CsvOutlet

    manager = get_plugin_manager()
    assert manager.find("outlet", "csv").load() is CsvOutlet
    assert manager.find("inlet", "csv").load() is CsvInlet
    assert manager.find("outlet", "CsvOutlet").load() is CsvOutlet


def test_compatible_imports() -> None:
    from databay.inlets import CsvInlet
    from databay.outlets import CsvOutlet

    assert CsvOutlet.__module__ == "databay_csv.outlet"
    assert CsvInlet.__module__ == "databay_csv.inlet"
    assert databay_csv.CsvOutlet is CsvOutlet
    assert databay_csv.CsvInlet is CsvInlet
