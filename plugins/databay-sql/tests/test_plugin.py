"""The installed distribution: registration through the databay entry point, lazily (listing
plugins imports no SQLAlchemy)."""

from __future__ import annotations

import pkgutil

import databay_sql
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-sql"
    components = {"inlet": {"sql": "databay_sql.inlet:SqlInlet"}, "outlet": {"sql": "databay_sql.outlet:SqlOutlet"}}
    watch = ["sqlalchemy", *(f"databay_sql.{module.name}" for module in pkgutil.iter_modules(databay_sql.__path__)
                             if module.name != "plugin")]  # every module of the package but its hooks


def test_the_package_exports_the_components() -> None:
    from databay_sql.inlet import SqlInlet
    from databay_sql.outlet import SqlOutlet

    assert databay_sql.SqlOutlet is SqlOutlet and databay_sql.SqlInlet is SqlInlet


def test_the_package_is_typed() -> None:
    from importlib.resources import files

    assert files("databay_sql").joinpath("py.typed").is_file()


def test_inspect_documents_both_components() -> None:
    import subprocess
    import sys
    from pathlib import Path

    databay = Path(sys.executable).parent / "databay"
    result = subprocess.run([str(databay), "inspect", "sql"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    for expected in ("inlet sql", "outlet sql", "cursor", "batch_size", "upsert", "Ties.", "Position."):
        assert expected in result.stdout, expected
