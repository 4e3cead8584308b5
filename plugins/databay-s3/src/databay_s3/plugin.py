"""The databay plugin module of databay-s3: registers the ``s3`` outlet and inlet.

Targets are lazy ``module:Attr`` strings, so listing plugins never imports boto3.
"""

from databay import hookimpl


@hookimpl
def databay_register_outlets(register):
    register("s3", "databay_s3.outlet:S3Outlet")


@hookimpl
def databay_register_inlets(register):
    register("s3", "databay_s3.inlet:S3Inlet")
