"""The databay plugin module of databay-mongo: registers the ``mongo`` outlet and inlet.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports pymongo.
"""

from databay import hookimpl


@hookimpl
def databay_register_outlets(register):
    register("mongo", "databay_mongo.outlet:MongoOutlet")


@hookimpl
def databay_register_inlets(register):
    register("mongo", "databay_mongo.inlet:MongoInlet")
