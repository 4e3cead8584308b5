"""Registration through the databay entry point, lazily."""

from __future__ import annotations

import databay_csv
from databay.testing import plugin_listing


def test_listing_components_does_not_import_them() -> None:
    listing = plugin_listing("databay-csv", watch=["databay_csv.inlet", "databay_csv.outlet", "databay_csv.csv_format"])
    assert listing.components == {"inlet": {"csv": "databay_csv.inlet:CsvInlet"},
                                  "outlet": {"csv": "databay_csv.outlet:CsvOutlet"}}
    assert listing.imported == []


def test_found_by_name_and_by_class_name(databay_load_plugins) -> None:
    from databay_csv.inlet import CsvInlet
    from databay_csv.outlet import CsvOutlet

    manager = databay_load_plugins("databay-csv")
    assert manager.resolve("outlet", "csv") is CsvOutlet
    assert manager.resolve("inlet", "csv") is CsvInlet
    assert manager.resolve("outlet", "CsvOutlet") is CsvOutlet


def test_compatible_imports() -> None:
    from databay.inlets import CsvInlet
    from databay.outlets import CsvOutlet

    assert CsvOutlet.__module__ == "databay_csv.outlet"
    assert CsvInlet.__module__ == "databay_csv.inlet"
    assert databay_csv.CsvOutlet is CsvOutlet
    assert databay_csv.CsvInlet is CsvInlet
