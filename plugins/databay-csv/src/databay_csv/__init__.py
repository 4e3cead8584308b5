"""databay-csv: a CSV outlet and inlet for databay.

Importing this package is cheap: the components load on first access::

    from databay_csv import CsvOutlet, CsvInlet
    from databay.outlets import CsvOutlet   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_csv.outlet": ["CsvOutlet"],
    "databay_csv.inlet": ["CsvInlet"],
    "databay_csv.errors": ["CsvColumnError", "CsvFileError", "CsvFormatError"],
})
