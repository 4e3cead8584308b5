"""The databay plugin module of databay-sql: registers the ``sql`` outlet and inlet.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports SQLAlchemy.
"""

from databay import hookimpl


@hookimpl
def databay_register_outlets(register):
    register("sql", "databay_sql.outlet:SqlOutlet")


@hookimpl
def databay_register_inlets(register):
    register("sql", "databay_sql.inlet:SqlInlet")
