"""The databay plugin module of databay-csv: registers the ``csv`` outlet and inlet.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports the components.
"""

from databay import hookimpl


@hookimpl
def databay_register_outlets(register):
    register("csv", "databay_csv.outlet:CsvOutlet")


@hookimpl
def databay_register_inlets(register):
    register("csv", "databay_csv.inlet:CsvInlet")
