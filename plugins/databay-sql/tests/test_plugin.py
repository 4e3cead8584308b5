"""Registration through the databay entry point, lazily: listing plugins imports no SQLAlchemy."""

from __future__ import annotations

import json
import subprocess
import sys

import databay_sql


def run(code: str) -> dict:
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_listing_components_does_not_import_them() -> None:
    found = run(
        "import json, sys\n"
        "from databay.plugins import get_plugin_manager\n"
        "m = get_plugin_manager()\n"
        "names = {k: [c.import_path for c in m.components(k) if c.distribution == 'databay-sql'] "
        "for k in ('inlet', 'outlet')}\n"
        "loaded = sorted(n for n in sys.modules if n.startswith(('databay_sql.', 'sqlalchemy'))"
        " and n != 'databay_sql.plugin')\n"
        "print(json.dumps({'names': names, 'loaded': loaded}))\n"
    )
    assert found["names"] == {"inlet": ["databay_sql.inlet:SqlInlet"], "outlet": ["databay_sql.outlet:SqlOutlet"]}
    assert found["loaded"] == []


def test_found_by_name_and_by_class_name() -> None:
    from databay.plugins import get_plugin_manager
    from databay_sql.inlet import SqlInlet
    from databay_sql.outlet import SqlOutlet

    manager = get_plugin_manager()
    assert manager.find("outlet", "sql").load() is SqlOutlet
    assert manager.find("inlet", "sql").load() is SqlInlet
    assert manager.find("outlet", "SqlOutlet").load() is SqlOutlet
    assert manager.find("inlet", "SqlInlet").load() is SqlInlet


def test_compatible_imports() -> None:
    from databay.inlets import SqlInlet
    from databay.outlets import SqlOutlet

    assert SqlOutlet.__module__ == "databay_sql.outlet"
    assert SqlInlet.__module__ == "databay_sql.inlet"
    assert databay_sql.SqlOutlet is SqlOutlet
    assert databay_sql.SqlInlet is SqlInlet


def test_the_package_is_typed() -> None:
    from importlib.resources import files

    assert files("databay_sql").joinpath("py.typed").is_file()
