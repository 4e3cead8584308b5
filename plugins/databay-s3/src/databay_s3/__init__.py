"""databay-s3: an S3 outlet and inlet for databay, on boto3.

Importing this package is cheap: the components (and boto3) load on first access::

    from databay_s3 import S3Outlet, S3Inlet
    from databay.outlets import S3Outlet   # the same class, found through the plugin
"""

from databay.lazy import lazy_exports

__version__ = "1.0.0a1"

__getattr__, __dir__, __all__ = lazy_exports(__name__, {
    "databay_s3.outlet": ["S3Outlet"],
    "databay_s3.inlet": ["S3Inlet"],
    "databay_s3.errors": [
        "S3Error", "S3AccessError", "S3BucketNotFound", "S3ConnectionError", "S3FormatError", "S3ObjectTooLarge",
        "S3OperationError",
    ],
})
