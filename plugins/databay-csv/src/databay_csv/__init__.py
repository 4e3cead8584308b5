"""databay-csv: a CSV outlet and inlet for databay.

Importing this package is cheap: the components load on first access::

    from databay_csv import CsvOutlet, CsvInlet
    from databay.outlets import CsvOutlet   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "CsvOutlet": "databay_csv.outlet",
    "CsvInlet": "databay_csv.inlet",
    "CsvColumnError": "databay_csv.errors",
    "CsvFileError": "databay_csv.errors",
    "CsvFormatError": "databay_csv.errors",
}

__all__ = ["CsvColumnError", "CsvFileError", "CsvFormatError", "CsvInlet", "CsvOutlet"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_csv' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
