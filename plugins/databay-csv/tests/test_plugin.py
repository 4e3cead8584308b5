"""The installed distribution: registration through the databay entry point, lazily."""

from __future__ import annotations

import databay_csv
from databay.testing import PluginTester


class TestPlugin(PluginTester):
    distribution = "databay-csv"
    components = {"inlet": {"csv": "databay_csv.inlet:CsvInlet"}, "outlet": {"csv": "databay_csv.outlet:CsvOutlet"}}
    watch = ["databay_csv.inlet", "databay_csv.outlet", "databay_csv.csv_format"]


def test_the_package_exports_the_components_lazily() -> None:
    from databay_csv.inlet import CsvInlet
    from databay_csv.outlet import CsvOutlet

    assert (databay_csv.CsvInlet, databay_csv.CsvOutlet) == (CsvInlet, CsvOutlet)
