"""databay-s3: an S3 outlet and inlet for databay, on boto3.

Importing this package is cheap: the components (and boto3) load on first access::

    from databay_s3 import S3Outlet, S3Inlet
    from databay.outlets import S3Outlet   # the same class, found through the plugin
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "1.0.0a1"

_LAZY = {
    "S3Outlet": "databay_s3.outlet",
    "S3Inlet": "databay_s3.inlet",
    "S3Error": "databay_s3.errors",
    "S3AccessError": "databay_s3.errors",
    "S3BucketNotFound": "databay_s3.errors",
    "S3ConnectionError": "databay_s3.errors",
    "S3FormatError": "databay_s3.errors",
    "S3ObjectTooLarge": "databay_s3.errors",
    "S3OperationError": "databay_s3.errors",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'databay_s3' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
