"""The databay plugin module of databay-http: registers the ``http`` inlet and outlet.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports aiohttp.
"""

from databay import hookimpl


@hookimpl
def databay_register_inlets(register):
    register("http", "databay_http.inlet:HttpInlet")


@hookimpl
def databay_register_outlets(register):
    register("http", "databay_http.outlet:HttpOutlet")
